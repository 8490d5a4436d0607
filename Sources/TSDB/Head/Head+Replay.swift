import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// What a WAL replay rebuilt.
public struct ReplayStats: Sendable {
    public var series = 0
    public var samples = 0
    /// Samples older than their series' newest (two racing transactions, or a duplicate).
    public var outOfOrder = 0
    /// Samples of series with no series record before them; skipped, as Prometheus does.
    public var unknownRefs = 0
    public var tombstones = 0
    /// Records of types this engine does not know (exemplars, metadata, histograms…).
    public var unknownRecords = 0
    /// Chunks loaded from `chunks_head/` and attached to their series, and the samples in
    /// them (counted in ``samples`` too); WAL samples they already held are skipped.
    public var headChunks = 0
    public var headChunkSamples = 0
    public var seconds = 0.0
    /// Repairs made on the way, one line each, naming segment and offset.
    public var notes: [String] = []
    public var droppedBytes = 0
}

extension Head {
    /// Rebuilds the head from the WAL in `directory`, keeping series references. Runs
    /// before the database accepts appends; not safe to call concurrently with anything.
    ///
    /// With `chunksDirectory` (and not `readOnly`), the head chunks there are loaded first
    /// (FORMAT.md §13.4): each series takes its chunks as the WAL creates it, and the WAL
    /// samples at or before its last loaded chunk's end are skipped. Then chunks the head
    /// closes from here on are written there.
    ///
    /// This thread reads, checks and decompresses records, creates series and decodes
    /// samples; one worker per core applies them, each owning the series whose reference
    /// falls in its shard, so a series' samples stay in log order without locks contending.
    /// With `readOnly` the WAL is left exactly as found (see ``WALRecovery/read``).
    func replay(walDirectory directory: String, sys: Syscalls, repair: Bool, readOnly: Bool = false,
                chunksDirectory: String? = nil) throws(TSDBError) -> ReplayStats {
        let started = DispatchTime.now().uptimeNanoseconds
        var loaded = LoadedHeadChunks()
        if let chunksDirectory, !readOnly {
            loaded = try HeadChunkLoader.load(directory: chunksDirectory, minValidTime: minValidTime, sys: sys)
            try headChunks.enable(directory: chunksDirectory, sys: sys, files: loaded.files)
        }
        var replayer = Replayer(head: self, chunks: loaded.bySeries)
        loaded.bySeries = [:]
        defer { replayer.stopWorkers() }
        let report = try WALRecovery.read(directory: directory, sys: sys, repair: repair, readOnly: readOnly) { record, file, offset throws(TSDBError) in
            try replayer.handle(record, file: file, offset: offset)
        }
        var stats = replayer.finish()
        stats.notes = loaded.notes + report.notes
        if stats.unknownRecords > 0 {
            stats.notes.append("WAL replay skipped \(stats.unknownRecords) record(s) of types this engine does not read (exemplars, metadata, histograms or m-map markers)")
        }
        stats.droppedBytes = report.droppedBytes
        stats.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return stats
    }
}

/// The reading side of a replay: creates series, and deals decoded samples out to the
/// workers by series reference.
private struct Replayer {
    let head: Head
    let workers: [ReplayWorker]
    var batches: [[RefSample]]
    var aliases: [UInt64: UInt64] = [:]
    var created: [MemSeries] = []
    var stats = ReplayStats()
    /// Chunks from `chunks_head/` not yet claimed by a series record.
    var chunks: [UInt64: [HeadChunk]]
    /// Per series reference, the end of its last loaded chunk: WAL samples at or before it
    /// are in that chunk already. An array for the references Prometheus and this engine
    /// hand out (dense from 1), a dictionary above `denseLimit`.
    var loadedUpTo: [Int64] = []
    var loadedUpToSparse: [UInt64: Int64] = [:]
    static let denseLimit: UInt64 = 1 << 24
    var chunkMinTime = Int64.max
    var chunkMaxTime = Int64.min

    init(head: Head, chunks: [UInt64: [HeadChunk]]) {
        self.head = head
        self.chunks = chunks
        workers = (0..<ReplayWorker.count).map { _ in ReplayWorker(head: head) }
        batches = workers.map { _ in
            var b: [RefSample] = []
            b.reserveCapacity(ReplayWorker.batchSize)
            return b
        }
        for w in workers { w.start() }
    }

    mutating func handle(_ record: [UInt8], file: String, offset: Int) throws(TSDBError) {
        switch record.first {
        case RecordType.series.rawValue:
            for s in try RecordDecoder.series(record, file: file, offset: offset) {
                let (found, isNew) = try head.series.getOrCreate(s.labels, ref: s.ref)
                let m = found.takeUnretainedValue()
                if isNew {
                    let attached = chunks.isEmpty ? nil : chunks.removeValue(forKey: s.ref)
                    m.state.withLock {
                        $0.indexed = true
                        if let attached { $0.attach(attached) }
                    }
                    if let attached { noteAttached(attached, ref: s.ref) }
                    created.append(m)
                    stats.series += 1
                } else if m.ref != s.ref {
                    // The same labels under a second reference: Prometheus maps it too.
                    aliases[s.ref] = m.ref
                }
            }
        case RecordType.samples.rawValue:
            var failure: TSDBError?
            record.withUnsafeBytes { raw in
                do throws(TSDBError) { try deal(raw, file: file, offset: offset) } catch { failure = error }
            }
            if let failure { throw failure }
        case RecordType.tombstones.rawValue:
            var stones = try RecordDecoder.tombstones(record, file: file, offset: offset)
            for i in stones.indices { if let real = aliases[stones[i].ref] { stones[i].ref = real } }
            head.tombstones.add(stones)
            stats.tombstones += stones.count
        default:
            stats.unknownRecords += 1
        }
    }

    private mutating func noteAttached(_ attached: [HeadChunk], ref: UInt64) {
        guard let first = attached.first, let last = attached.last else { return }
        stats.headChunks += attached.count
        for c in attached { stats.headChunkSamples += c.chunk.count ?? 0 }
        chunkMinTime = Swift.min(chunkMinTime, first.minTime)
        chunkMaxTime = Swift.max(chunkMaxTime, last.maxTime)
        if ref < Self.denseLimit {
            if loadedUpTo.count <= Int(ref) {
                loadedUpTo.append(contentsOf: repeatElement(.min, count: Swift.max(Int(ref) + 1, loadedUpTo.count * 2) - loadedUpTo.count))
            }
            loadedUpTo[Int(ref)] = last.maxTime
        } else {
            loadedUpToSparse[ref] = last.maxTime
        }
    }

    /// Deals a samples record out to the workers' batches. A record is refused whole: its
    /// samples are handed over only once all of them decoded, and a damaged one leaves the
    /// batches as they were before it.
    private mutating func deal(_ raw: UnsafeRawBufferPointer, file: String, offset: Int) throws(TSDBError) {
        let n = UInt64(workers.count)
        let hasAliases = !aliases.isEmpty
        let before = batches.map(\.count)
        do throws(TSDBError) {
            var cursor = try SampleCursor(raw, file: file, offset: offset)
            if loadedUpTo.isEmpty && loadedUpToSparse.isEmpty {
                while var s = try cursor.next() {
                    if hasAliases, let real = aliases[s.ref] { s.ref = real }
                    batches[Int(s.ref % n)].append(s)
                }
            } else {
                let hasSparse = !loadedUpToSparse.isEmpty
                let upTo = loadedUpTo
                while var s = try cursor.next() {
                    if hasAliases, let real = aliases[s.ref] { s.ref = real }
                    // Already in a chunk loaded from chunks_head/.
                    if s.ref < UInt64(upTo.count) {
                        if s.timestamp <= upTo[Int(s.ref)] { continue }
                    } else if hasSparse, let t = loadedUpToSparse[s.ref], s.timestamp <= t {
                        continue
                    }
                    batches[Int(s.ref % n)].append(s)
                }
            }
        } catch {
            for i in batches.indices { batches[i].removeLast(batches[i].count - before[i]) }
            throw error
        }
        for i in batches.indices where batches[i].count >= ReplayWorker.batchSize { flush(i) }
    }

    private mutating func flush(_ i: Int) {
        // Reuse a batch the worker has emptied: fresh megabyte-sized arrays would come from
        // mmap and cost a page fault per 4 KiB.
        var full = workers[i].recycled.pop()
        swap(&full, &batches[i])
        workers[i].queue.push(full)
    }

    /// Hands out the last samples, waits for the workers and gathers the counts.
    mutating func finish() -> ReplayStats {
        for i in batches.indices where !batches[i].isEmpty { flush(i) }
        var minT = Int64.max
        var maxT = Int64.min
        for w in workers {
            w.finish()
            stats.samples += w.applied
            stats.outOfOrder += w.outOfOrder
            stats.unknownRefs += w.unknown
            minT = Swift.min(minT, w.minTime)
            maxT = Swift.max(maxT, w.maxTime)
        }
        head.postings.add(created)
        if minT <= maxT { head.extendTimeRange(minT: minT, maxT: maxT) }
        if chunkMinTime <= chunkMaxTime { head.extendTimeRange(minT: chunkMinTime, maxT: chunkMaxTime) }
        stats.samples += stats.headChunkSamples
        return stats
    }

    /// Stops the workers without waiting for more input (after an error, or after finish).
    func stopWorkers() {
        for w in workers { w.finish() }
    }
}

/// A replay thread applying the samples of its shard of series, in the order received.
private final class ReplayWorker: @unchecked Sendable {
    // @unchecked: the counters are written by the worker thread only and read after
    // `finish()` has joined it.
    static let count = Swift.max(1, Swift.min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    static let batchSize = 16 * 1024

    let queue = BlockingQueue<[RefSample]>(capacity: 4)
    /// Emptied batches, handed back for reuse: all the batches a worker ever has, so the
    /// reader never allocates one (a fresh megabyte array costs a page fault per 4 KiB).
    let recycled = BlockingQueue<[RefSample]>(capacity: 8)
    private let head: Head
    private var thread: pthread_t?
    var applied = 0
    var outOfOrder = 0
    var unknown = 0
    var minTime = Int64.max
    var maxTime = Int64.min

    init(head: Head) {
        self.head = head
        // In flight at once: one being filled, `queue`'s four, one being applied.
        for _ in 0..<6 {
            var batch: [RefSample] = []
            batch.reserveCapacity(Self.batchSize)
            recycled.push(batch)
        }
    }

    func start() {
        thread = spawnThread { [self] in run() }
    }

    /// Ends the input and waits for the thread; harmless to call twice.
    func finish() {
        guard let t = thread else { return }
        thread = nil
        queue.push([])
        pthread_join(t, nil)
    }

    private func run() {
        let options = head.options
        let directory = head.series.directoryHandle
        let headChunks = head.headChunks
        while true {
            var batch = queue.pop()
            if batch.isEmpty { return }
            defer {
                batch.removeAll(keepingCapacity: true)
                recycled.tryPush(batch)
            }
            let minValid = head.minValidTime
            for s in batch {
                // Older than the newest block: already persisted there.
                if s.timestamp < minValid { continue }
                guard let m = directory.lookup(s.ref) else {
                    unknown += 1
                    continue
                }
                let outcome = m._withUnsafeGuaranteedRef { series in
                    series.state.withLock { $0.commit(timestamp: s.timestamp, value: s.value, options: options, headChunks: headChunks, ref: s.ref) }
                }
                switch outcome {
                case .appended:
                    applied += 1
                    if s.timestamp < minTime { minTime = s.timestamp }
                    if s.timestamp > maxTime { maxTime = s.timestamp }
                case .duplicate:
                    break
                case .outOfOrder:
                    outOfOrder += 1
                }
            }
        }
    }
}
