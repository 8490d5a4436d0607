import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a record stands in a replay's total order: the segment (counted in reading
/// order, checkpoint first), the piece of that segment, the step of that piece.
struct ReplayPosition: Comparable, Sendable {
    var segment: Int
    var piece: Int
    var step: Int

    static func < (a: Self, b: Self) -> Bool {
        (a.segment, a.piece, a.step) < (b.segment, b.piece, b.step)
    }
}

/// A second reference for labels that already have a series (a duplicate series record):
/// samples logged under it after the record that made it belong to `real`, as in Prometheus.
struct ReplayAlias: Sendable {
    var real: UInt64
    var since: ReplayPosition
}

/// Per series reference, the end of its last chunk loaded from `chunks_head/`: the WAL
/// samples at or before it are in that chunk already and are skipped. Read-only while the
/// replay runs, so every decoder consults it without locks.
struct LoadedChunkEnds: Sendable {
    private var dense: [Int64] = []
    private var sparse: [UInt64: Int64] = [:]
    var isEmpty: Bool { dense.isEmpty && sparse.isEmpty }

    init(_ bySeries: [UInt64: [ChunkMeta]] = [:]) {
        guard let maxRef = bySeries.keys.max() else { return }
        // References are dense from 1 as Prometheus and this engine hand them out; a table
        // of a few times the series count covers them, a dictionary anything else.
        if maxRef < UInt64(Swift.max(1 << 16, 8 * bySeries.count)) {
            dense = Array(repeating: .min, count: Int(maxRef) + 1)
            for (ref, chunks) in bySeries { if let last = chunks.last { dense[Int(ref)] = last.maxTime } }
        } else {
            for (ref, chunks) in bySeries { if let last = chunks.last { sparse[ref] = last.maxTime } }
        }
    }

    @inline(__always)
    func covers(ref: UInt64, time: Int64) -> Bool {
        if ref < UInt64(dense.count) { return time <= dense[Int(ref)] }
        if sparse.isEmpty { return false }
        if let end = sparse[ref] { return time <= end }
        return false
    }
}

/// A run of records of one piece that is applied as a unit: a series record, a tombstones
/// record, or consecutive samples records (and records of unknown types among them).
final class ReplayStep: @unchecked Sendable {
    // @unchecked: filled by the decoding thread before the piece is published under the
    // pipeline's mutex; afterwards `shards` and `generation` change only under the
    // execution lock (a re-decode), and `executed`/`failure` only under it too.
    enum Kind { case samples, series, tombstones }
    let kind: Kind
    let position: ReplayPosition
    /// Offset of its first record, and the end of its last.
    let start: Int
    var end: Int
    var records = 0
    var unknownRecords = 0
    /// Samples by worker (``ReplayDecoder/shard(of:)``), aliases resolved and samples that
    /// chunks_head/ holds or below the minimum valid time left out.
    var shards: [[RefSample]] = []
    /// How many aliases the decoder knew of; see ``ReplayPipeline``.
    var generation = 0
    var series: [RefSeries] = []
    var stones: [RefTombstone] = []
    var executed = false
    var failure: TSDBError?
    /// Threads that reached this series step; guarded by the pipeline's mutex.
    var arrived = 0

    init(kind: Kind, position: ReplayPosition, start: Int) {
        self.kind = kind
        self.position = position
        self.start = start
        self.end = start
    }
}

/// The records that begin in one piece of a segment, decoded.
final class ReplayPiece: @unchecked Sendable {
    // @unchecked: immutable once published, but for its steps (see ``ReplayStep``).
    /// Where the first byte this piece owns is: its start, past the fragments of a record
    /// that began in an earlier piece.
    let first: Int
    /// Where the next piece's bytes begin: the end of its last record or padding.
    let end: Int
    let steps: [ReplayStep]
    /// The offset of a record this decoder did not take (damage, or a form only the
    /// sequential reader handles): the replay goes on from there with ``SegmentReader``.
    let stop: Int?

    init(first: Int, end: Int, steps: [ReplayStep], stop: Int?) {
        self.first = first
        self.end = end
        self.steps = steps
        self.stop = stop
    }
}

/// Sample arrays handed back by applied pieces, so decoding does not allocate (a fresh
/// megabyte-sized array costs a page fault per 4 KiB).
final class SampleArrayPool: Sendable {
    private let free = Mutex<[[RefSample]]>([])

    func take() -> [RefSample] {
        free.withLock { $0.popLast() } ?? []
    }

    func give(_ arrays: inout [[RefSample]]) {
        var kept = arrays
        arrays = []
        for i in kept.indices { kept[i].removeAll(keepingCapacity: true) }
        free.withLock { free in
            for a in kept where a.capacity > 0 && free.count < 256 { free.append(a) }
        }
    }
}

/// Decodes the records of WAL segment pieces on one replay thread (FORMAT.md §6, §7):
/// checks fragments and checksums, reassembles, decompresses into a reused buffer and
/// sorts samples by the worker that applies them.
///
/// Takes only the common forms: any damage, and records it cannot decode, end the piece
/// at that record, and the sequential ``SegmentReader`` takes over there with its exact
/// rules for damage. Never traps on any bytes.
struct ReplayDecoder {
    let bytes: UnsafeRawBufferPointer
    let path: String
    let segment: Int
    let shardCount: Int
    let chunkEnds: LoadedChunkEnds
    let minValidTime: Int64
    let pool: SampleArrayPool
    private let scratch: ReplayScratch

    init(bytes: UnsafeRawBufferPointer, path: String, segment: Int, shardCount: Int, chunkEnds: LoadedChunkEnds,
         minValidTime: Int64, pool: SampleArrayPool, scratch: ReplayScratch) {
        self.bytes = bytes
        self.path = path
        self.segment = segment
        self.shardCount = shardCount
        self.chunkEnds = chunkEnds
        self.minValidTime = minValidTime
        self.pool = pool
        self.scratch = scratch
    }

    @inline(__always)
    func shard(of ref: UInt64) -> Int {
        shardCount == 2 ? Int(ref & 1) : Int(ref % UInt64(shardCount))
    }

    /// Decodes the records that begin in `[start, limit)`: piece `index` of the segment.
    func decodePiece(index: Int, start: Int, limit: Int, aliases: [UInt64: ReplayAlias], generation: Int) -> ReplayPiece {
        var at = start
        // Fragments of a record begun in an earlier piece belong to that piece.
        let parser = WALFragmentParser(bytes: bytes)
        while at < limit, at + WALFormat.headerSize <= bytes.count {
            let type = bytes[at] & WALFormat.typeMask
            guard type == WALFormat.middle || type == WALFormat.last else { break }
            at += WALFormat.headerSize + parser.length(at: at)
        }
        let first = at
        var steps: [ReplayStep] = []
        var current: ReplayStep?
        func closeCurrent() {
            if let c = current { steps.append(c) }
            current = nil
        }
        while at < limit && at < bytes.count {
            let recordStart = at
            guard let item = readRecord(at: &at) else {
                closeCurrent()
                return ReplayPiece(first: first, end: recordStart, steps: steps, stop: recordStart)
            }
            guard let payload = item else { continue }  // padding
            let position = ReplayPosition(segment: segment, piece: index, step: steps.count)
            switch payload.first {
            case RecordType.samples.rawValue:
                let step = current ?? makeSamplesStep(position: position, start: recordStart)
                guard addSamples(payload, to: step, aliases: aliases, recordOffset: recordStart) else {
                    if step.records > 0 { current = step } else { pool.give(&step.shards) }
                    closeCurrent()
                    return ReplayPiece(first: first, end: recordStart, steps: steps, stop: recordStart)
                }
                step.generation = generation
                step.records += 1
                step.end = at
                current = step
            case RecordType.series.rawValue, RecordType.tombstones.rawValue:
                closeCurrent()
                let isSeries = payload.first == RecordType.series.rawValue
                let step = ReplayStep(kind: isSeries ? .series : .tombstones,
                                      position: ReplayPosition(segment: segment, piece: index, step: steps.count), start: recordStart)
                do throws(TSDBError) {
                    if isSeries {
                        step.series = try RecordDecoder.series(Array(payload), file: path, offset: recordStart)
                    } else {
                        step.stones = try RecordDecoder.tombstones(Array(payload), file: path, offset: recordStart)
                    }
                } catch {
                    return ReplayPiece(first: first, end: recordStart, steps: steps, stop: recordStart)
                }
                step.records = 1
                step.end = at
                steps.append(step)
            default:
                // Empty, or a type this engine does not read: counted, skipped.
                let step = current ?? makeSamplesStep(position: position, start: recordStart)
                step.generation = generation
                step.records += 1
                step.unknownRecords += 1
                step.end = at
                current = step
            }
        }
        closeCurrent()
        return ReplayPiece(first: first, end: at, steps: steps, stop: nil)
    }

    /// Decodes a samples step again with aliases it was decoded without (they appeared
    /// while it was being decoded). Returns false if a record no longer decodes, which
    /// cannot happen to bytes that decoded once.
    func redecode(_ step: ReplayStep, aliases: [UInt64: ReplayAlias], generation: Int) -> Bool {
        for i in step.shards.indices { step.shards[i].removeAll(keepingCapacity: true) }
        var at = step.start
        while at < step.end {
            let recordStart = at
            guard let item = readRecord(at: &at) else { return false }
            guard let payload = item, payload.first == RecordType.samples.rawValue else { continue }
            guard addSamples(payload, to: step, aliases: aliases, recordOffset: recordStart) else { return false }
        }
        step.generation = generation
        return true
    }

    private func makeSamplesStep(position: ReplayPosition, start: Int) -> ReplayStep {
        let step = ReplayStep(kind: .samples, position: position, start: start)
        step.shards = (0..<shardCount).map { _ in pool.take() }
        return step
    }

    /// Adds one samples record to the step's shards; false (with the shards as before) if
    /// it does not decode.
    private func addSamples(_ payload: UnsafeRawBufferPointer, to step: ReplayStep, aliases: [UInt64: ReplayAlias], recordOffset: Int) -> Bool {
        // The shards leave the step while they are filled: appending through a class's
        // stored property costs a dynamic exclusivity check per sample.
        var shards: [[RefSample]] = []
        swap(&shards, &step.shards)
        defer { swap(&shards, &step.shards) }
        let before = shards.map(\.count)
        let skipLoaded = !chunkEnds.isEmpty
        // Older than the newest block, or outside the storable range (TimestampDomain).
        let window = TimestampWindow(lower: minValidTime)
        let position = step.position
        let decoded = shards.withUnsafeMutableBufferPointer { shards -> Bool in
            do throws(TSDBError) {
                var cursor = try SampleCursor(payload, file: path, offset: recordOffset)
                if aliases.isEmpty && !skipLoaded {
                    while let s = try cursor.next() {
                        if !window.contains(s.timestamp) { continue }
                        shards[shard(of: s.ref)].append(s)
                    }
                } else {
                    while var s = try cursor.next() {
                        if !aliases.isEmpty, let alias = aliases[s.ref], alias.since < position { s.ref = alias.real }
                        // Outside the window, or already in a chunk from chunks_head/.
                        if !window.contains(s.timestamp) || chunkEnds.covers(ref: s.ref, time: s.timestamp) { continue }
                        shards[shard(of: s.ref)].append(s)
                    }
                }
                return true
            } catch {
                return false
            }
        }
        if !decoded {
            for i in shards.indices { shards[i].removeLast(shards[i].count - before[i]) }
        }
        return decoded
    }

    /// The record (or page padding, as `.some(nil)`) at `at`, decompressed, moving `at` past
    /// it; nil for anything the sequential reader must judge. The bytes stay valid until the
    /// next call.
    @inline(__always)
    private func readRecord(at: inout Int) -> UnsafeRawBufferPointer?? {
        var assembly = AssemblySink(buffer: scratch.assembly)
        let item: WALFragmentParser.Item?
        do throws(WALFragmentDamage) {
            item = try WALFragmentParser(bytes: bytes).readRecord(at: &at, into: &assembly)
        } catch {
            return nil
        }
        guard case .record(_, let flags, let full)? = item else { return item == nil ? nil : .some(nil) }
        let raw = full.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
            ?? UnsafeRawBufferPointer(start: scratch.assembly.pointer, count: assembly.count)
        // zstd, or flags that disagree: the sequential reader says which.
        // (Not `return try?`: its nil would become `.some(nil)`, padding.)
        guard let out = try? WALCompression.decompress(raw, flags: flags, into: scratch.output) else { return nil }
        return .some(out)
    }
}

/// Reassembles a record's fragments into a thread's reused buffer.
private struct AssemblySink: WALFragmentSink {
    let buffer: GrowableBuffer
    var count = 0

    @inline(__always)
    mutating func append(_ data: UnsafeRawBufferPointer) {
        let into = buffer.reserve(count + data.count)
        if let base = data.baseAddress, !data.isEmpty { (into + count).copyMemory(from: base, byteCount: data.count) }
        count += data.count
    }
}

/// One thread's buffers for decoding: reassembled fragments and decompressed records,
/// grown as needed and reused for every record.
final class ReplayScratch {
    let assembly = GrowableBuffer()
    let output = GrowableBuffer()
}
