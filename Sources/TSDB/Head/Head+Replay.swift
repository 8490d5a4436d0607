import Dispatch
import Synchronization

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
    /// The whole replay, and the part of it spent loading `chunks_head/`.
    public var seconds = 0.0
    public var headChunkSeconds = 0.0
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
    /// Every core decodes and applies (``ReplayPipeline``); where the pipeline stops short
    /// of a segment's end, this thread reads on with the sequential reader, whose rules for
    /// damage decide what is cut or refused.
    /// With `readOnly` the WAL is left exactly as found (see ``WALRecovery/read``).
    func replay(walDirectory directory: String, sys: Syscalls, repair: Bool, readOnly: Bool = false,
                chunksDirectory: String? = nil, tuning: ReplayTuning = ReplayTuning()) throws(TSDBError) -> ReplayStats {
        let started = DispatchTime.now().uptimeNanoseconds
        var loaded = LoadedHeadChunks()
        if let chunksDirectory, !readOnly {
            loaded = try HeadChunkLoader.load(directory: chunksDirectory, minValidTime: minValidTime, sys: sys)
            try headChunks.enable(directory: chunksDirectory, sys: sys, files: loaded.files)
        }
        let chunksLoaded = DispatchTime.now().uptimeNanoseconds
        var replayer = Replayer(head: self, chunks: loaded.bySeries, tuning: tuning)
        loaded.bySeries = [:]
        defer { replayer.pipeline.stop() }
        let report = try WALRecovery.read(directory: directory, sys: sys, repair: repair, readOnly: readOnly) { reader, report throws(TSDBError) in
            try replayer.consume(&reader, &report)
        }
        var stats = replayer.finish()
        stats.notes = loaded.notes + report.notes
        if loaded.outOfOrder > 0 {
            stats.notes.append("chunks_head/ holds \(loaded.outOfOrder) out-of-order chunk(s) (encoding 0x81, Prometheus's out_of_order_time_window): this engine does not read out-of-order data yet, so their samples are not served")
        }
        if stats.unknownRecords > 0 {
            stats.notes.append("WAL replay skipped \(stats.unknownRecords) record(s) of types this engine does not read (exemplars, metadata, histograms or m-map markers)")
        }
        stats.droppedBytes = report.droppedBytes
        stats.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        stats.headChunkSeconds = Double(chunksLoaded - started) / 1e9
        return stats
    }
}

/// A replay in progress: the pipeline that reads segments on every core, and the
/// sequential reader that takes over where the pipeline stops (damage, unusual forms).
private struct Replayer {
    let head: Head
    let executor: ReplayExecutor
    let pipeline: ReplayPipeline
    let chunkEnds: LoadedChunkEnds
    /// Samples applied by the sequential reader, on this thread.
    var sequential: SampleApplier
    var serial = 0
    var unknownRecords = 0

    init(head: Head, chunks: [UInt64: [ChunkMeta]], tuning: ReplayTuning) {
        self.head = head
        chunkEnds = LoadedChunkEnds(chunks)
        executor = ReplayExecutor(head: head, chunks: chunks)
        pipeline = ReplayPipeline(head: head, executor: executor, chunkEnds: chunkEnds, tuning: tuning)
        sequential = SampleApplier(head: head)
    }

    /// Replays one segment: the pipeline first, then the sequential reader from wherever
    /// the pipeline stopped. Returns the damage that stopped the reading, if any.
    mutating func consume(_ reader: inout SegmentReader, _ report: inout WALReadReport) throws(TSDBError) -> SegmentDamage? {
        serial += 1
        let serial = self.serial
        let path = reader.path
        let (resumeAt, records, unknown) = pipeline.run(reader.bytes, path: path, serial: serial, mapped: reader.isMapped)
        report.records += records
        unknownRecords += unknown
        guard let resumeAt else { return nil }
        reader.resume(at: resumeAt)
        var step = 0
        return try WALRecovery.readAll(&reader, &report) { record, file, offset throws(TSDBError) in
            step += 1
            try handle(record, file: file, offset: offset, at: ReplayPosition(segment: serial, piece: .max, step: step))
        }
    }

    /// One record, applied on this thread. A samples record is refused whole if damaged.
    private mutating func handle(_ record: [UInt8], file: String, offset: Int, at position: ReplayPosition) throws(TSDBError) {
        switch record.first {
        case RecordType.series.rawValue:
            let series = try RecordDecoder.series(record, file: file, offset: offset)
            do throws(TSDBError) {
                try executor.locked { e throws(TSDBError) in _ = try e.createSeries(series, at: position) }
            } catch {
                // A reference out of range or naming two label sets: damage at this record.
                var located = error
                if located.location == nil { located.location = .init(file: file, offset: offset) }
                throw located
            }
        case RecordType.samples.rawValue:
            var failure: TSDBError?
            let aliases = executor.locked { $0.aliases }
            let window = TimestampWindow(lower: head.minValidTime)
            record.withUnsafeBytes { raw in
                do throws(TSDBError) {
                    try RecordDecoder.validateSamples(raw, file: file, offset: offset)
                    var cursor = try SampleCursor(raw, file: file, offset: offset)
                    while var s = try cursor.next() {
                        if let alias = aliases[s.ref], alias.since < position { s.ref = alias.real }
                        if !window.contains(s.timestamp) || chunkEnds.covers(ref: s.ref, time: s.timestamp) { continue }
                        sequential.apply(s)
                    }
                } catch { failure = error }
            }
            if let failure { throw failure }
        case RecordType.tombstones.rawValue:
            let stones = try RecordDecoder.tombstones(record, file: file, offset: offset)
            executor.locked { $0.addTombstones(stones, at: position) }
        default:
            unknownRecords += 1
        }
    }

    /// Stops the threads and gathers what the replay did into the head and the counts.
    func finish() -> ReplayStats {
        pipeline.stop()
        var counts = pipeline.applied
        counts.add(sequential.counts)
        var stats = executor.locked { $0.stats }
        stats.samples = counts.applied
        stats.outOfOrder = counts.outOfOrder
        stats.unknownRefs = counts.unknownRefs
        stats.unknownRecords = unknownRecords
        executor.locked { e in
            head.postings.add(e.created)
            e.created = []
            if e.chunkMinTime <= e.chunkMaxTime { head.extendTimeRange(minT: e.chunkMinTime, maxT: e.chunkMaxTime) }
        }
        if counts.minTime <= counts.maxTime { head.extendTimeRange(minT: counts.minTime, maxT: counts.maxTime) }
        stats.samples += stats.headChunkSamples
        return stats
    }
}

/// What executing series and tombstones records changes: the series created (with the
/// chunks loaded for them), the aliases of duplicate series records, head tombstones.
/// Used under ``locked(_:)`` only, one record at a time in log order.
final class ReplayExecutor: @unchecked Sendable {
    // @unchecked: every var is used under `lock`, through `locked`.
    let head: Head
    private let lock = ConditionLock()
    /// How many aliases exist, readable without the lock: while it is 0, no samples step
    /// needs looking at again.
    let aliasCount = Atomic<Int>(0)
    /// Chunks from `chunks_head/` not yet claimed by a series record.
    var chunks: [UInt64: [ChunkMeta]]
    var aliases: [UInt64: ReplayAlias] = [:]
    /// Where each alias was made, in log order.
    var aliasPositions: [ReplayPosition] = []
    var created: [MemSeries] = []
    var stats = ReplayStats()
    var chunkMinTime = Int64.max
    var chunkMaxTime = Int64.min

    init(head: Head, chunks: [UInt64: [ChunkMeta]]) {
        self.head = head
        self.chunks = chunks
    }

    func locked<T, E: Error>(_ body: (ReplayExecutor) throws(E) -> T) throws(E) -> T {
        try lock.withLock { () throws(E) -> T in try body(self) }
    }

    /// Creates the series of a series record, keeping their references; labels that have a
    /// series already under another reference become an alias of it, as in Prometheus.
    /// Returns whether it made an alias.
    func createSeries(_ series: [RefSeries], at position: ReplayPosition) throws(TSDBError) -> Bool {
        var aliased = false
        for s in series {
            let (found, isNew) = try head.series.getOrCreate(s.labels, ref: s.ref)
            let m = found.takeUnretainedValue()
            if isNew {
                let attached = chunks.isEmpty ? nil : chunks.removeValue(forKey: s.ref)
                m.state.withLock {
                    $0.indexed = true
                    if let attached { $0.attach(attached) }
                }
                if let attached { noteAttached(attached) }
                created.append(m)
                stats.series += 1
            } else if m.ref != s.ref {
                aliases[s.ref] = ReplayAlias(real: m.ref, since: position)
                aliasPositions.append(position)
                aliasCount.store(aliasPositions.count, ordering: .releasing)
                aliased = true
            }
        }
        return aliased
    }

    func addTombstones(_ stones: [RefTombstone], at position: ReplayPosition) {
        var stones = stones
        for i in stones.indices {
            if let alias = aliases[stones[i].ref], alias.since < position { stones[i].ref = alias.real }
        }
        head.tombstones.add(stones)
        stats.tombstones += stones.count
    }

    private func noteAttached(_ attached: [ChunkMeta]) {
        guard let first = attached.first, let last = attached.last else { return }
        stats.headChunks += attached.count
        for c in attached { stats.headChunkSamples += c.chunk.count ?? 0 }
        chunkMinTime = Swift.min(chunkMinTime, first.minTime)
        chunkMaxTime = Swift.max(chunkMaxTime, last.maxTime)
    }
}
