#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replays WAL segments on every core: each segment is cut into pieces of a few pages;
/// every thread both decodes pieces (checksums, snappy, sample decoding: the bulk of the
/// work) and applies them, in log order, to its own shard of series.
///
/// - A piece owns the records that begin in it; a record running on into later pieces is
///   read whole by its owner, and skipped by the others.
/// - Threads claim pieces to decode in order, at most ``window`` ahead of the slowest
///   applier. Each thread applies every piece in order, but only the samples of the series
///   in its shard (reference modulo thread count), so a series' samples stay in log order
///   without locks contending. It groups them by series first
///   (``SampleApplier/applyBySeries(_:stride:)``), so a series is locked once per run.
/// - Series and tombstones records are steps executed once, in log order: the first
///   thread to reach one executes it under the executor's lock while later ones wait, so a
///   series exists before any sample after its record is applied. A series step waits
///   until every thread has reached it, so the series does not exist yet for samples
///   logged before its record (unknown references, as in the sequential reader).
/// - A duplicate series record makes an alias (``ReplayAlias``). Samples decoded before
///   the decoder knew of it are decoded again (``ReplayDecoder/redecode``) when a thread
///   reaches them, so they are sharded by the series they belong to.
/// - Anything unusual (damage, a form the decoder does not take, a gap between what one
///   piece ends and the next begins) stops the segment there: every thread applies up to
///   that point, and ``run`` reports the offset from which the sequential reader takes over.
final class ReplayPipeline: @unchecked Sendable {
    // @unchecked: job state and counts are guarded by `monitor`.
    let threadCount: Int
    let pieceSize: Int
    let window: Int
    private let head: Head
    private let chunkEnds: LoadedChunkEnds
    private let pool = SampleArrayPool()

    private let monitor = ConditionLock()
    private var job: SegmentJob?
    private var stopping = false
    private var threads: [SpawnedThread] = []
    /// What each thread applied, stored as it ends.
    private var counts = SampleApplier.Counts()

    /// Executes series and tombstones steps, under its lock.
    let executor: ReplayExecutor

    init(head: Head, executor: ReplayExecutor, chunkEnds: LoadedChunkEnds, tuning: ReplayTuning) {
        self.head = head
        self.executor = executor
        self.chunkEnds = chunkEnds
        threadCount = Swift.max(1, tuning.threads)
        pieceSize = Swift.max(1, tuning.pieces) * WALFormat.pageSize
        window = 4 * threadCount
        for w in 0..<threadCount {
            self.threads.append(spawnThread { [self] in work(w) })
        }
    }

    deinit {
        stop()
    }

    /// Ends the threads; harmless to call twice.
    func stop() {
        monitor.withLock {
            stopping = true
            monitor.broadcast()
        }
        for t in threads { t.join() }
        threads = []
    }

    /// What the threads applied, summed; valid after ``stop()``.
    var applied: SampleApplier.Counts {
        monitor.withLock { counts }
    }

    /// Replays one segment (segment number `serial` in reading order). Returns how many
    /// records were applied and, if the pieces stopped short of the end, the offset of the
    /// first record not applied.
    ///
    /// With `mapped` (the bytes are a shared mapping of the segment file), the pages of each
    /// applied piece are given back (`MADV_DONTNEED`): they stay in the page cache, and a
    /// later read (the sequential reader after damage) faults them in again, but the replay
    /// does not hold the whole segment in its resident memory.
    func run(_ bytes: UnsafeRawBufferPointer, path: String, serial: Int, mapped: Bool = false) -> (resumeAt: Int?, records: Int, unknownRecords: Int) {
        guard !bytes.isEmpty else { return (nil, 0, 0) }
        let job = SegmentJob(bytes: bytes, path: path, serial: serial, pieceSize: pieceSize, threads: threadCount, mapped: mapped)
        monitor.lock()
        self.job = job
        monitor.broadcast()
        while job.finished < threadCount { monitor.wait() }
        self.job = nil
        monitor.unlock()
        for case let piece? in job.pieces { retire(piece) }
        return (job.resumeAt, job.records, job.unknownRecords)
    }

    // MARK: - The threads

    private func work(_ w: Int) {
        let scratch = ReplayScratch()
        var applier = SampleApplier(head: head)
        var served = 0
        monitor.lock()
        while true {
            while !stopping && (job?.serial ?? served) == served { monitor.wait() }
            guard !stopping, let job else { break }
            served = job.serial
            let decoder = ReplayDecoder(bytes: job.bytes, path: job.path, segment: job.serial, shardCount: threadCount,
                                        chunkEnds: chunkEnds, minValidTime: head.minValidTime, pool: pool, scratch: scratch)
            var expected = 0
            while true {
                let i = job.nextToApply[w]
                if i >= job.limit { break }
                if let piece = job.pieces[i] {
                    monitor.unlock()
                    let outcome = apply(piece, index: i, of: job, expected: &expected, worker: w, decoder: decoder, applier: &applier)
                    monitor.lock()
                    job.nextToApply[w] = i + 1
                    if let resume = outcome.resumeAt {
                        job.limit = Swift.min(job.limit, i + 1)
                        job.resumeAt = resume
                    }
                    if w == 0 {
                        job.records += outcome.records
                        job.unknownRecords += outcome.unknownRecords
                    }
                    job.appliedBy[i] += 1
                    if job.appliedBy[i] == threadCount {
                        job.pieces[i] = nil
                        monitor.unlock()
                        retire(piece)
                        if job.mapped { job.release(piece: i) }
                        monitor.lock()
                    }
                    monitor.broadcast()
                    continue
                }
                let d = job.nextToDecode
                if d < job.limit && d < (job.nextToApply.min() ?? 0) + window {
                    job.nextToDecode = d + 1
                    monitor.unlock()
                    let (aliases, generation) = aliasSnapshot()
                    let start = d * job.pieceSize
                    let piece = decoder.decodePiece(index: d, start: start, limit: Swift.min(start + job.pieceSize, job.bytes.count),
                                                    aliases: aliases, generation: generation)
                    monitor.lock()
                    job.pieces[d] = piece
                    monitor.broadcast()
                    continue
                }
                monitor.wait()
            }
            job.finished += 1
            monitor.broadcast()
        }
        counts.add(applier.counts)
        monitor.unlock()
    }

    private struct Outcome {
        var resumeAt: Int?
        var records = 0
        var unknownRecords = 0
    }

    /// Applies thread `w`'s share of piece `i`, in order.
    private func apply(_ piece: ReplayPiece, index i: Int, of job: SegmentJob, expected: inout Int,
                       worker w: Int, decoder: ReplayDecoder, applier: inout SampleApplier) -> Outcome {
        var outcome = Outcome()
        let limit = Swift.min((i + 1) * job.pieceSize, job.bytes.count)
        // A record of an earlier piece runs through this whole piece: nothing here.
        if piece.first >= limit && expected >= limit && piece.steps.isEmpty { return outcome }
        guard piece.first == expected else {
            outcome.resumeAt = expected
            return outcome
        }
        for step in piece.steps {
            switch step.kind {
            case .samples:
                if executor.aliasCount.load(ordering: .acquiring) != 0 && !refresh(step, decoder: decoder) {
                    outcome.resumeAt = step.start
                    return outcome
                }
                applier.applyBySeries(step.shards[w], stride: UInt64(threadCount))
            case .series, .tombstones:
                if step.kind == .series { waitForAll(at: step) }
                if !execute(step) {
                    outcome.resumeAt = step.start
                    return outcome
                }
            }
            outcome.records += step.records
            outcome.unknownRecords += step.unknownRecords
        }
        if let stop = piece.stop {
            outcome.resumeAt = stop
        } else {
            expected = piece.end
        }
        return outcome
    }

    private func retire(_ piece: ReplayPiece) {
        for step in piece.steps where step.kind == .samples { pool.give(&step.shards) }
    }

    // MARK: - Steps executed once

    /// Waits until every thread has reached the series step `step`, so has applied its
    /// share of every sample before it: a series must not exist for samples logged before
    /// its record (the sequential reader counts those as unknown references, as Prometheus
    /// does). Series records are rare after the first scrape, so this costs little.
    private func waitForAll(at step: ReplayStep) {
        guard threadCount > 1 else { return }
        monitor.lock()
        step.arrived += 1
        if step.arrived == threadCount { monitor.broadcast() }
        while step.arrived < threadCount && !stopping { monitor.wait() }
        monitor.unlock()
    }

    /// Executes a series or tombstones step unless another thread did; false if it failed.
    private func execute(_ step: ReplayStep) -> Bool {
        executor.locked { executor in
            if !step.executed {
                step.executed = true
                do throws(TSDBError) {
                    if step.kind == .series {
                        _ = try executor.createSeries(step.series, at: step.position)
                    } else {
                        executor.addTombstones(step.stones, at: step.position)
                    }
                } catch {
                    step.failure = error
                }
            }
            return step.failure == nil
        }
    }

    /// Decodes a samples step again if an alias that precedes it was made after it was
    /// decoded; false if that fails.
    private func refresh(_ step: ReplayStep, decoder: ReplayDecoder) -> Bool {
        executor.locked { executor in
            let positions = executor.aliasPositions
            guard step.generation < positions.count else { return true }
            let required = positions.count { $0 < step.position }
            if step.generation >= required {
                step.generation = positions.count
                return true
            }
            return decoder.redecode(step, aliases: executor.aliases, generation: positions.count)
        }
    }

    private func aliasSnapshot() -> ([UInt64: ReplayAlias], Int) {
        guard executor.aliasCount.load(ordering: .acquiring) != 0 else { return ([:], 0) }
        return executor.locked { ($0.aliases, $0.aliasPositions.count) }
    }
}

/// How a replay splits its work.
package struct ReplayTuning: Sendable {
    /// Threads decoding and applying: one per core, at most 8.
    package var threads = Swift.max(1, Swift.min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    /// Pages in a piece: 8 (256 KiB) decode in about a millisecond, and hold little memory.
    package var pieces = 8
}

/// One segment being replayed. Guarded by the pipeline's lock (`monitor`).
private final class SegmentJob {
    let bytes: UnsafeRawBufferPointer
    let path: String
    let serial: Int
    let pieceSize: Int
    var pieces: [ReplayPiece?]
    /// How many threads have applied each piece; at all of them it is retired.
    var appliedBy: [Int]
    var nextToDecode = 0
    var nextToApply: [Int]
    /// Pieces from here on are not applied (set where the pieces stopped).
    var limit: Int
    var resumeAt: Int?
    var records = 0
    var unknownRecords = 0
    var finished = 0
    let mapped: Bool

    init(bytes: UnsafeRawBufferPointer, path: String, serial: Int, pieceSize: Int, threads: Int, mapped: Bool) {
        self.bytes = bytes
        self.path = path
        self.serial = serial
        self.pieceSize = pieceSize
        self.mapped = mapped
        let count = (bytes.count + pieceSize - 1) / pieceSize
        pieces = Array(repeating: nil, count: count)
        appliedBy = Array(repeating: 0, count: count)
        nextToApply = Array(repeating: 0, count: threads)
        limit = count
    }
}

extension SegmentJob {
    /// Drops piece `i`'s pages from this process's mapping (not from the page cache): no
    /// thread reads them again unless the sequential reader takes over, which faults them
    /// back in.
    func release(piece i: Int) {
        releaseMappedPages(bytes, (i * pieceSize)..<((i + 1) * pieceSize))
    }
}

/// Commits replayed samples to their series, counting what happened.
struct SampleApplier {
    struct Counts {
        var applied = 0
        var outOfOrder = 0
        var unknownRefs = 0
        var minTime = Int64.max
        var maxTime = Int64.min

        mutating func add(_ other: Counts) {
            applied += other.applied
            outOfOrder += other.outOfOrder
            unknownRefs += other.unknownRefs
            minTime = Swift.min(minTime, other.minTime)
            maxTime = Swift.max(maxTime, other.maxTime)
        }
    }

    private let options: ChunkOptions
    private let directory: SeriesTable.Directory
    private let headChunks: HeadChunkDiskMapper
    private(set) var counts = Counts()

    init(head: Head) {
        options = head.options
        directory = head.series.directoryHandle
        headChunks = head.headChunks
    }

    /// Buckets of a counting sort, and its output, reused.
    private var bucketStarts: [Int32] = []
    private var sorted: [RefSample] = []

    /// Applies `samples` with each series' samples together, in their order, so that a
    /// series is looked up and locked once per run of its samples instead of once per
    /// sample (samples come in scrape order: every series once before any twice). One
    /// counting-sort pass over reference buckets; this thread's references are `stride`
    /// apart, so the bucket is `ref / stride`. Series sharing a bucket stay interleaved,
    /// which only costs locks.
    mutating func applyBySeries(_ samples: [RefSample], stride: UInt64) {
        let n = samples.count
        guard n >= 512 else {
            samples.withUnsafeBufferPointer { apply($0) }
            return
        }
        var bits = 8
        while (1 << bits) < n && bits < 16 { bits += 1 }
        let buckets = 1 << bits
        let mask = UInt64(buckets - 1)
        if bucketStarts.count < buckets + 1 { bucketStarts = Array(repeating: 0, count: buckets + 1) }
        if sorted.count < n { sorted = Array(repeating: RefSample(ref: 0, timestamp: 0, value: 0), count: n) }
        bucketStarts.withUnsafeMutableBufferPointer { starts in
            sorted.withUnsafeMutableBufferPointer { out in
                samples.withUnsafeBufferPointer { input in
                    for i in 0...buckets { starts[i] = 0 }
                    for s in input { starts[Int((s.ref / stride) & mask) + 1] += 1 }
                    for i in 0..<buckets { starts[i + 1] += starts[i] }
                    for s in input {
                        let b = Int((s.ref / stride) & mask)
                        out[Int(starts[b])] = s
                        starts[b] += 1
                    }
                }
            }
        }
        var out: [RefSample] = []
        swap(&out, &sorted)
        out.withUnsafeBufferPointer { apply(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        swap(&out, &sorted)
    }

    mutating func apply(_ samples: [RefSample]) {
        samples.withUnsafeBufferPointer { apply($0) }
    }

    /// Applies samples in order, a run of one series' samples under one lock.
    mutating func apply(_ samples: UnsafeBufferPointer<RefSample>) {
        var i = 0
        while i < samples.count {
            let ref = samples[i].ref
            var end = i + 1
            while end < samples.count && samples[end].ref == ref { end += 1 }
            guard let m = directory.lookup(ref) else {
                counts.unknownRefs += end - i
                i = end
                continue
            }
            let run = UnsafeBufferPointer(rebasing: samples[i..<end])
            counts = m._withUnsafeGuaranteedRef { series in
                series.state.withLock { state in
                    var counts = self.counts
                    for s in run {
                        switch state.commit(timestamp: s.timestamp, value: s.value, options: options, headChunks: headChunks, ref: ref) {
                        case .appended:
                            counts.applied += 1
                            if s.timestamp < counts.minTime { counts.minTime = s.timestamp }
                            if s.timestamp > counts.maxTime { counts.maxTime = s.timestamp }
                        case .duplicate:
                            break
                        case .outOfOrder:
                            counts.outOfOrder += 1
                        }
                    }
                    return counts
                }
            }
            i = end
        }
    }

    mutating func apply(_ s: RefSample) {
        withUnsafePointer(to: s) { apply(UnsafeBufferPointer(start: $0, count: 1)) }
    }
}
