import CoreMetrics
import Logging
import RemoteProtocol
import Synchronization
import TSDB

/// One endpoint's queue manager and WAL watcher, as Prometheus's `QueueManager` with its
/// `wlog.Watcher`: reads the WAL from the saved position, maps series refs to labels,
/// hands samples to shards by series (so one series' samples keep their order), and saves
/// the position the receiver acknowledged. Thread-safe; ``run()`` once.
final class EndpointSender: Sendable {
    let endpoint: RemoteWriteEndpoint
    let dbDirectory: String
    let metrics: SenderMetrics
    private let tail: WALTail
    private let logger: Logger
    private let client: RemoteClient
    private let retention: WALRetention
    private let sys = Syscalls.system
    private let trackerBox = Mutex<AckTracker?>(nil)
    private let meter = Mutex(RateMeter())
    /// Held from init, so segments cannot be truncated between creating the sender and
    /// its run reading them: until run knows its position, every segment is needed.
    private let retentionToken: WALRetention.Token

    /// What the reshard rule measures over one interval.
    struct RateMeter {
        var samplesIn = 0
        var samplesOut = 0
        var sendSeconds = 0.0
    }

    /// A series as the WAL named it: its labels (nil when the filter drops it) and the
    /// segment of its latest series record (or checkpoint), to forget it after a checkpoint.
    private struct SeriesEntry {
        var labels: Labels?
        var segment: Int
    }

    private struct Shards {
        var queues: [ShardQueue]
        var tasks: [Task<Void, Never>]
    }

    init(endpoint: RemoteWriteEndpoint, dbDirectory: String, retention: WALRetention, userAgent: String, logger: Logger,
         metricsFactory: (any MetricsFactory)?) throws {
        self.endpoint = endpoint
        self.dbDirectory = dbDirectory
        self.retention = retention
        self.tail = WALTail(walDirectory: dbDirectory + "/wal")
        var logger = logger
        logger[metadataKey: "remote_name"] = "\(endpoint.name)"
        logger[metadataKey: "url"] = "\(endpoint.url)"
        self.logger = logger
        self.metrics = SenderMetrics(name: endpoint.name, url: endpoint.url, factory: metricsFactory)
        self.client = try RemoteClient(endpoint: endpoint, userAgent: userAgent)
        // Weak: the database's registry must not keep a dropped sender alive.
        let box = WeakSender()
        retentionToken = retention.register(maxRetainedSegments: endpoint.queue.maxRetainedSegments) {
            guard let sender = box.sender else { return nil }
            return sender.trackerBox.withLock { $0 }?.acknowledged.segment ?? 0
        }
        box.sender = self
    }

    deinit { retention.remove(retentionToken) }

    /// Everything before this position reached the receiver (or was refused for good).
    var acknowledged: WALPosition? { trackerBox.withLock { $0 }?.acknowledged }

    private var queue: QueueSettings { endpoint.queue }

    /// Runs until cancelled; then shards send what they hold for up to the flush deadline,
    /// and the acknowledged position is saved.
    func run() async throws {
        defer { Task { [client] in await client.shutdown() } }
        let saved: WALPosition?
        do { saved = try PositionFile.load(db: dbDirectory, endpoint: endpoint.name, sys: sys) } catch {
            // A damaged position file: start over from the oldest segment (at least once).
            logger.error("cannot read the remote-write position; resending the whole WAL", metadata: ["error": "\(error)"])
            saved = nil
        }
        var segments: [Int] = []
        while true {
            segments = try tail.segments()
            if !segments.isEmpty { break }
            try await Task.sleep(for: .seconds(queue.pollInterval))
        }
        let first = segments[0], last = segments[segments.count - 1]
        var position = WALPosition(segment: first, offset: 0)
        if let saved {
            if saved.segment < first {
                for _ in saved.segment..<first { metrics.segmentLost() }
                logger.error("WAL segments after the saved remote-write position were truncated before they were sent", metadata: [
                    "position": "\(saved)", "first_segment": "\(first)"])
            } else if saved.segment > last || !isPlausible(saved) {
                logger.warning("the saved remote-write position is not in the WAL; resending the whole WAL", metadata: ["position": "\(saved)"])
            } else {
                position = saved
            }
        }
        logger.info("starting remote write", metadata: ["position": "\(position)"])

        var series: [UInt64: SeriesEntry] = [:]
        var checkpoint = try tail.latestCheckpoint()
        if let cp = checkpoint { try loadCheckpointSeries(cp, into: &series) }
        for segment in segments where segment <= position.segment {
            try scanSeries(segment: segment, before: segment == position.segment ? position.offset : nil, into: &series)
        }

        let tracker = AckTracker(start: position)
        trackerBox.withLock { $0 = tracker }

        var shards = startShards(queue.minShards, tracker: tracker)
        var lastSaved = saved
        var lastSave = ContinuousClock.now
        var lastReshard = ContinuousClock.now
        var rereadAfterCut = false
        let baseLimit = 4 << 20
        var limit = baseLimit
        var samples: [RefSample] = []

        func save() {
            let now = tracker.acknowledged
            guard now != lastSaved else { return }
            do {
                try PositionFile.save(now, db: dbDirectory, endpoint: endpoint.name, sys: sys)
                lastSaved = now
            } catch {
                logger.error("cannot save the remote-write position", metadata: ["error": "\(error)"])
            }
        }

        do {
            while !Task.isCancelled {
                let now = ContinuousClock.now
                if now - lastSave >= .seconds(queue.positionSaveInterval) {
                    save()
                    lastSave = now
                }
                if now - lastReshard >= .seconds(queue.reshardInterval) {
                    let elapsed = now - lastReshard
                    lastReshard = now
                    let desired = desiredShards(current: shards.queues.count, interval: elapsed)
                    if desired != shards.queues.count {
                        logger.info("remote storage resharding", metadata: ["from": "\(shards.queues.count)", "to": "\(desired)"])
                        await stop(shards, deadline: nil)
                        shards = startShards(desired, tracker: tracker)
                    }
                }

                let segs = try tail.segments()
                guard let firstSegment = segs.first, let lastSegment = segs.last else {
                    try await Task.sleep(for: .seconds(queue.pollInterval))
                    continue
                }
                if position.segment < firstSegment {
                    // Truncated past this sender's cap before it read them.
                    for _ in position.segment..<firstSegment { metrics.segmentLost() }
                    logger.error("WAL segments were truncated before they were sent", metadata: [
                        "position": "\(position)", "first_segment": "\(firstSegment)"])
                    position = WALPosition(segment: firstSegment, offset: 0)
                    _ = tracker.add(count: 0, end: position)
                    if let cp = try tail.latestCheckpoint() {
                        try loadCheckpointSeries(cp, into: &series)
                        checkpoint = cp
                    }
                    rereadAfterCut = false
                    continue
                }
                let dropping = lastSegment - position.segment > queue.maxRetainedSegments
                guard let (records, end, size) = try tail.read(segment: position.segment, from: position.offset, limit: limit) else {
                    continue  // gone meanwhile: the check above handles it
                }
                for record in records {
                    let endPosition = WALPosition(segment: position.segment, offset: record.end)
                    try await handle(record, segment: position.segment, end: endPosition, dropping: dropping,
                                     series: &series, samples: &samples, shards: shards, tracker: tracker)
                    position = endPosition
                    // A long read under backpressure must not hold off resharding.
                    if ContinuousClock.now - lastReshard >= .seconds(queue.reshardInterval) { break }
                }
                if !records.isEmpty {
                    rereadAfterCut = false
                    limit = baseLimit
                    continue
                }
                if case .torn = end, position.offset + limit <= size {
                    limit *= 2  // a record larger than one read
                    continue
                }
                if lastSegment > position.segment {
                    // The writer moved on, so this segment is complete: read it once more
                    // (the last record may have landed after the read), then go to the next.
                    if !rereadAfterCut {
                        rereadAfterCut = true
                        continue
                    }
                    if case .corrupt(let offset, let reason) = end {
                        logger.error("WAL segment damaged; skipping the rest of it", metadata: [
                            "segment": "\(position.segment)", "offset": "\(offset)", "reason": "\(reason)"])
                    }
                    position = WALPosition(segment: position.segment + 1, offset: 0)
                    _ = tracker.add(count: 0, end: position)
                    rereadAfterCut = false
                    limit = baseLimit
                    try followCheckpoint(&checkpoint, position: position, series: &series)
                    continue
                }
                try followCheckpoint(&checkpoint, position: position, series: &series)
                try await Task.sleep(for: .seconds(queue.pollInterval))
            }
        } catch is CancellationError {
        } catch {
            await stop(shards, deadline: queue.flushDeadline)
            save()
            throw error
        }
        await stop(shards, deadline: queue.flushDeadline)
        save()
        logger.info("remote write stopped", metadata: ["position": "\(tracker.acknowledged)"])
    }

    /// Whether a saved position can be where a record begins in its segment: inside the
    /// file, and not within the first 7 bytes of a page unless at its start.
    private func isPlausible(_ p: WALPosition) -> Bool {
        guard let size = FileSystem.size(tail.segmentPath(p.segment), sys: sys), p.offset <= Int(size) else { return false }
        let inPage = p.offset % WALFormat.pageSize
        return inPage == 0 || inPage >= WALFormat.headerSize
    }

    // MARK: Records

    private func handle(
        _ record: TailRecord, segment: Int, end: WALPosition, dropping: Bool, series: inout [UInt64: SeriesEntry],
        samples: inout [RefSample], shards: Shards, tracker: AckTracker
    ) async throws {
        let path = tail.segmentPath(segment)
        switch record.bytes.first {
        case 1:
            do {
                for s in try RecordDecoder.series(record.bytes, file: path, offset: record.start) {
                    series[s.ref] = SeriesEntry(labels: endpoint.filter.admits(s.labels) ? s.labels : nil, segment: segment)
                }
            } catch {
                logger.error("skipping a damaged series record", metadata: ["error": "\(error)"])
            }
            _ = tracker.add(count: 0, end: end)
        case 2:
            samples.removeAll(keepingCapacity: true)
            do {
                try RecordDecoder.samples(record.bytes, into: &samples, file: path, offset: record.start)
            } catch {
                logger.error("skipping a damaged samples record", metadata: ["error": "\(error)"])
                samples.removeAll()
            }
            var out: [QueuedSample] = []
            out.reserveCapacity(samples.count)
            var highest = Int64.min
            for s in samples {
                highest = Swift.max(highest, s.timestamp)
                if !dropping, let labels = series[s.ref]?.labels {
                    out.append(QueuedSample(labels: labels, ref: s.ref, timestamp: s.timestamp, value: s.value, record: 0))
                }
            }
            if !samples.isEmpty { metrics.read(highestTimestamp: highest) }
            metrics.dropped(samples.count - out.count)
            meter.withLock { $0.samplesIn += samples.count }
            let seq = tracker.add(count: out.count, end: end)
            metrics.pending(out.count)
            let n = UInt64(shards.queues.count)
            for var s in out {
                s.record = seq
                try await shards.queues[Int(s.ref % n)].push(s)
            }
        default:
            // Tombstones, exemplars, metadata, histograms: not sent (as Prometheus 2.42 for tombstones).
            _ = tracker.add(count: 0, end: end)
        }
    }

    /// Adds the series of checkpoint `cp`, marking them as seen in segment `cp.index`.
    private func loadCheckpointSeries(_ cp: (name: String, index: Int), into series: inout [UInt64: SeriesEntry]) throws {
        for record in try tail.checkpointRecords(cp.name) where record.first == 1 {
            for s in try RecordDecoder.series(record, file: tail.directory + "/" + cp.name) {
                series[s.ref] = SeriesEntry(labels: endpoint.filter.admits(s.labels) ? s.labels : nil, segment: cp.index)
            }
        }
    }

    /// After the engine truncated the WAL, as Prometheus's watcher: once this sender is past
    /// the new checkpoint, its series are read again and series whose last record was in a
    /// segment the checkpoint covers, and which it no longer holds, are forgotten.
    private func followCheckpoint(_ checkpoint: inout (name: String, index: Int)?, position: WALPosition, series: inout [UInt64: SeriesEntry]) throws {
        guard let cp = try tail.latestCheckpoint(), cp.index != checkpoint?.index, position.segment > cp.index else { return }
        try loadCheckpointSeries(cp, into: &series)
        series = series.filter { $0.value.segment >= cp.index }
        checkpoint = cp
        logger.debug("followed a WAL checkpoint", metadata: ["checkpoint": "\(cp.name)", "series": "\(series.count)"])
    }

    /// Reads the series records of `segment` (those starting before `before`, if given).
    private func scanSeries(segment: Int, before: Int?, into series: inout [UInt64: SeriesEntry]) throws {
        var offset = 0
        var limit = 4 << 20
        while true {
            guard let (records, end, size) = try tail.read(segment: segment, from: offset, limit: limit) else { return }
            for record in records {
                if let before, record.start >= before { return }
                if record.bytes.first == 1 {
                    for s in try RecordDecoder.series(record.bytes, file: tail.segmentPath(segment), offset: record.start) {
                        series[s.ref] = SeriesEntry(labels: endpoint.filter.admits(s.labels) ? s.labels : nil, segment: segment)
                    }
                }
                offset = record.end
            }
            if records.isEmpty {
                if case .torn = end, offset + limit <= size { limit *= 2; continue }
                return
            }
        }
    }

    // MARK: Shards

    private func startShards(_ n: Int, tracker: AckTracker) -> Shards {
        metrics.setShards(n)
        let queues = (0..<n).map { _ in ShardQueue(capacity: queue.capacity) }
        let tasks = queues.map { q in Task { await self.runShard(q, tracker: tracker) } }
        return Shards(queues: queues, tasks: tasks)
    }

    /// Closes the queues and waits for the shards to send what they hold; after `deadline`
    /// seconds they are cancelled, and what they did not send stays unacknowledged.
    private func stop(_ shards: Shards, deadline: Double?) async {
        for q in shards.queues { q.close() }
        let tasks = shards.tasks
        let flush = queue.flushDeadline
        let cancelAll: @Sendable () -> Void = { for t in tasks { t.cancel() } }
        let watchdog = deadline.map { d in
            Task {
                try? await Task.sleep(for: .seconds(d))
                if !Task.isCancelled { cancelAll() }
            }
        }
        // A reshard (no deadline) that the caller's cancellation interrupts gets the flush deadline.
        await withTaskCancellationHandler {
            for t in tasks { await t.value }
        } onCancel: {
            if deadline == nil {
                Task {
                    try? await Task.sleep(for: .seconds(flush))
                    cancelAll()
                }
            }
        }
        watchdog?.cancel()
    }

    private func runShard(_ q: ShardQueue, tracker: AckTracker) async {
        let deadline = Duration.seconds(queue.batchSendDeadline)
        while !Task.isCancelled {
            switch q.take(max: queue.maxSamplesPerSend, deadline: deadline) {
            case .finished: return
            case .wait:
                do { try await Task.sleep(for: .milliseconds(5)) } catch { return }
            case .batch(let batch):
                await send(batch, tracker: tracker)
            }
        }
    }

    /// Sends one batch until the receiver takes or refuses it, or the shard is cancelled
    /// (then the batch stays unacknowledged and is sent again after a restart).
    private func send(_ batch: [QueuedSample], tracker: AckTracker) async {
        var request = Prometheus_WriteRequest()
        var index: [UInt64: Int] = [:]
        var highest = Int64.min
        for s in batch {
            var sample = Prometheus_Sample()
            sample.timestamp = s.timestamp
            sample.value = s.value
            highest = Swift.max(highest, s.timestamp)
            if let i = index[s.ref] {
                request.timeseries[i].samples.append(sample)
            } else {
                index[s.ref] = request.timeseries.count
                var ts = Prometheus_TimeSeries()
                ts.labels = RemoteConversion.protoLabels(s.labels)
                ts.samples = [sample]
                request.timeseries.append(ts)
            }
        }
        let n = batch.count
        let body: [UInt8]
        do { body = SnappyBody.encode(try request.serializedBytes()) } catch {
            logger.error("cannot encode a remote write request; dropping it", metadata: ["error": "\(error)"])
            metrics.failed(n)
            finish(batch, tracker: tracker)
            return
        }
        var backoff = queue.minBackoff
        while true {
            metrics.attempted(n)
            let start = ContinuousClock.now
            let outcome = await client.store(body)
            let took = ContinuousClock.now - start
            switch outcome {
            case .accepted:
                metrics.sent(n, highestTimestamp: highest)
                meter.withLock {
                    $0.samplesOut += n
                    $0.sendSeconds += Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
                }
                finish(batch, tracker: tracker)
                return
            case .refused(let status, let reason):
                logger.error("non-recoverable error sending samples; dropping them", metadata: [
                    "status": "\(status)", "count": "\(n)", "err": "\(reason)"])
                metrics.failed(n)
                finish(batch, tracker: tracker)
                return
            case .recoverable(let retryAfter, let reason):
                if Task.isCancelled { return }
                let wait = retryAfter.map { Swift.max($0, 0) } ?? backoff
                logger.warning("failed to send batch, retrying", metadata: ["err": "\(reason)", "sleep_seconds": "\(wait)"])
                metrics.retried(n)
                do { try await Task.sleep(for: .seconds(wait)) } catch { return }
                backoff = Swift.min(Swift.max(wait, queue.minBackoff) * 2, queue.maxBackoff)
            }
        }
    }

    private func finish(_ batch: [QueuedSample], tracker: AckTracker) {
        var counts: [UInt64: Int] = [:]
        for s in batch { counts[s.record, default: 0] += 1 }
        for (seq, count) in counts.sorted(by: { $0.key < $1.key }) { tracker.complete(seq, count: count) }
        metrics.pending(-batch.count)
    }

    // MARK: Resharding

    private func desiredShards(current: Int, interval: Duration) -> Int {
        let m = meter.withLock { m -> RateMeter in
            defer { m = RateMeter() }
            return m
        }
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let highestRead = metrics.highestReadTimestamp, highestSent = metrics.highestSentTimestamp
        let delay = highestRead > highestSent && highestSent > .min ? Double(highestRead - highestSent) / 1000 : 0
        return Resharding.desiredShards(current: current, interval: seconds, samplesIn: m.samplesIn, samplesOut: m.samplesOut,
                                        sendSeconds: m.sendSeconds, delay: delay,
                                        minShards: queue.minShards, maxShards: queue.maxShards)
    }
}

/// Prometheus's `calculateDesiredShards`, simplified (no moving averages): the time one
/// sample takes to send (all shards' send time over the samples sent) times the incoming
/// rate plus 5% of the backlog a second, the backlog being the `delay` (newest timestamp
/// read minus newest sent, in seconds) times the incoming rate; a change within 30% of
/// `current` is ignored, and there is no downsharding while more than 10 s behind.
enum Resharding {
    static func desiredShards(
        current: Int, interval: Double, samplesIn: Int, samplesOut: Int, sendSeconds: Double, delay: Double,
        minShards: Int, maxShards: Int
    ) -> Int {
        guard samplesOut > 0, interval > 0 else { return current }
        let inRate = Double(samplesIn) / interval
        let timePerSample = sendSeconds / Double(samplesOut)
        let backlog = Swift.max(delay, 0) * inRate
        let desired = (timePerSample * (inRate + 0.05 * backlog)).rounded(.up)
        if Double(current) * 0.7 <= desired && desired <= Double(current) * 1.3 { return current }
        let n = desired.isFinite ? Int(Swift.min(Swift.max(desired, 0), 1e6)) : maxShards
        if n < current && delay > 10 { return current }
        return Swift.min(Swift.max(n, minShards), maxShards)
    }
}

/// A weak reference to a sender, for the WAL retention callback.
private final class WeakSender: @unchecked Sendable {
    // Set once in the sender's init, before the callback can run a truncation that reads
    // it; read-only afterwards (the retention registry's lock orders the two).
    weak var sender: EndpointSender?
}
