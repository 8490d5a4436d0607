import Synchronization

/// Chunk-cutting parameters, as Prometheus's `chunkOpts`.
package struct ChunkOptions: Sendable {
    /// Width of the head's chunk range (the block range, 2 h by default), in ms.
    var chunkRange: Int64 = 2 * 3_600_000
    /// Target number of samples per chunk; a chunk is cut at twice this at the latest.
    var samplesPerChunk = 120
    /// An open XOR chunk larger than this is cut before the next append, which keeps chunks
    /// within Prometheus's `MaxBytesPerXORChunk` (1024) since one sample takes at most 19
    /// bytes. `nil` turns the cap off, as in Prometheus before 2.46 (the fixtures' promtool).
    var maxBytesBeforeAppend: Int? = 1024 - 19
}

/// What happened to a committed sample.
package enum CommitOutcome {
    case appended
    /// Same timestamp and same value bits as the newest sample: accepted, nothing stored.
    case duplicate
    /// Older than (or a different value at) the newest sample; dropped.
    case outOfOrder
}

/// The mutable part of a series, guarded by the series' mutex.
package struct SeriesState {
    var closed: [ChunkMeta] = []
    var encoder = XOREncoder(capacity: 0)
    var hasOpenChunk = false
    var openMinTime: Int64 = .max
    var openMaxTime: Int64 = .min
    /// Upper bound for cutting the open chunk (`memSeries.nextAt`).
    var nextAt: Int64 = .min

    /// Newest committed timestamp and value bits; `.min` when the series has no sample.
    package var maxTime: Int64 = .min
    package var lastValueBits: UInt64 = 0
    /// Set when the newest sample is the last of `closed.last`, loaded from `chunks_head/`
    /// at replay: `lastValueBits` is then decoded from that chunk on first need.
    var lastValueInChunk = false

    /// The newest uncommitted sample of the appender `pendingOwner` (0 = none), so that one
    /// transaction's own appends are checked against each other.
    var pendingOwner: UInt64 = 0
    var pendingTime: Int64 = .min
    var pendingValueBits: UInt64 = 0

    /// Whether the series is in the postings index, which happens at its first commit.
    var indexed = false

    /// Stores a committed sample, cutting chunks as Prometheus's `appendPreprocessor` does:
    /// at the chunk-range boundary (predicted at a quarter full so chunks come out even), at
    /// twice the target sample count, or when the chunk nears 1 KiB. A chunk that closes is
    /// also written to `headChunks` as a chunk of series `ref` (FORMAT.md §13).
    package mutating func commit(timestamp t: Int64, value: Double, options: ChunkOptions,
                         headChunks: HeadChunkDiskMapper? = nil, ref: UInt64 = 0) -> CommitOutcome {
        let bits = value.bitPattern
        if t <= maxTime {
            return t == maxTime && bits == resolvedLastValueBits() ? .duplicate : .outOfOrder
        }
        var created = false
        if !hasOpenChunk {
            cutChunk(at: t, options: options, headChunks: headChunks, ref: ref)
            created = true
        }
        if !created, let cap = options.maxBytesBeforeAppend, encoder.byteCount > cap {
            cutChunk(at: t, options: options, headChunks: headChunks, ref: ref)
        }
        let n = encoder.count
        if n == options.samplesPerChunk / 4 {
            nextAt = computeChunkEndTime(start: openMinTime, current: openMaxTime, max: nextAt)
        }
        if t >= nextAt || n >= options.samplesPerChunk * 2 {
            cutChunk(at: t, options: options, headChunks: headChunks, ref: ref)
        }
        encoder.append(timestamp: t, value: value)
        openMaxTime = t
        maxTime = t
        lastValueBits = bits
        lastValueInChunk = false
        return .appended
    }

    /// The newest sample's value bits, decoding the last closed chunk if they came from
    /// `chunks_head/` and are not known yet.
    mutating func resolvedLastValueBits() -> UInt64 {
        if lastValueInChunk {
            lastValueInChunk = false
            if let last = closed.last {
                var it = last.chunk.makeIterator()
                while let s = it.next() { lastValueBits = s.value.bitPattern }
            }
        }
        return lastValueBits
    }

    /// Takes over chunks loaded from `chunks_head/` at replay (FORMAT.md §13.4): the series
    /// must hold nothing yet. Its newest sample becomes the last chunk's end.
    mutating func attach(_ chunks: [ChunkMeta]) {
        guard let last = chunks.last else { return }
        closed = chunks
        maxTime = last.maxTime
        lastValueInChunk = true
    }

    private mutating func cutChunk(at t: Int64, options: ChunkOptions, headChunks: HeadChunkDiskMapper?, ref: UInt64) {
        if hasOpenChunk && encoder.count > 0 {
            let bytes = encoder.encoded()
            closed.append(ChunkMeta(chunk: XORChunk(bytes: bytes), minTime: openMinTime, maxTime: openMaxTime))
            headChunks?.write(seriesRef: ref, minTime: openMinTime, maxTime: openMaxTime, data: bytes)
        }
        encoder = XOREncoder()
        hasOpenChunk = true
        openMinTime = t
        openMaxTime = .min
        nextAt = rangeEnd(for: t, width: options.chunkRange)
    }

    /// Drops the chunks that end before `minTime` (they are in a block now); the open chunk
    /// goes too if it ends before `minTime`. Returns whether the series still holds samples.
    mutating func truncate(before minTime: Int64) -> Bool {
        closed.removeAll { $0.maxTime < minTime }
        if hasOpenChunk && encoder.count > 0 && openMaxTime < minTime {
            encoder = XOREncoder(capacity: 0)
            hasOpenChunk = false
            openMinTime = .max
            openMaxTime = .min
        }
        return !closed.isEmpty || (hasOpenChunk && encoder.count > 0)
    }

    /// The oldest sample time held, or nil when the series holds none.
    var oldestTime: Int64? {
        if let first = closed.first { return first.minTime }
        return hasOpenChunk && encoder.count > 0 ? openMinTime : nil
    }

    /// The series' chunks overlapping `[minTime, maxTime]`, the open one copied.
    package func chunks(minTime: Int64, maxTime: Int64) -> [ChunkMeta] {
        var out: [ChunkMeta] = []
        for c in closed where c.maxTime >= minTime && c.minTime <= maxTime { out.append(c) }
        if hasOpenChunk && encoder.count > 0 && openMaxTime >= minTime && openMinTime <= maxTime {
            out.append(ChunkMeta(chunk: XORChunk(bytes: encoder.encoded()), minTime: openMinTime, maxTime: openMaxTime))
        }
        return out
    }
}

/// End of the chunk range holding `t`: Prometheus's `rangeForTimestamp` (Go's truncating division).
@inline(__always)
func rangeEnd(for t: Int64, width: Int64) -> Int64 {
    (t / width) * width + width
}

/// Prometheus's `computeChunkEndTime` with ratioToFull 4: spread the rest of the range evenly.
@inline(__always)
func computeChunkEndTime(start: Int64, current: Int64, max: Int64) -> Int64 {
    let n = Double(max - start) / (Double(current - start + 1) * 4)
    if n <= 1 { return max }
    return Int64(Double(start) + Double(max - start) / n.rounded(.down))
}

/// One series of the head: its identity, immutable after creation, and its chunks behind a mutex.
final class MemSeries: Sendable {
    let ref: UInt64
    let labels: Labels
    let state: Mutex<SeriesState>
    /// Whether a series record for this series is in the WAL. Set under the WAL's lock by
    /// the commit that writes the record, so no sample of the series precedes it.
    let walLogged: Atomic<Bool>

    init(ref: UInt64, labels: Labels, walLogged: Bool = false) {
        self.ref = ref
        self.labels = labels
        self.state = Mutex(SeriesState())
        self.walLogged = Atomic(walLogged)
    }
}
