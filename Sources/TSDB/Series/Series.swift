/// One series returned by a query: its labels and its samples in the query's time range.
///
/// A value: it holds its own copy of the chunks it needs, so it stays valid and unchanged
/// however long it is kept, whatever is appended afterwards.
public struct Series: Sendable, Sequence {
    public let labels: Labels
    let chunks: [ChunkMeta]
    let minTime: Int64
    let maxTime: Int64

    init(labels: Labels, chunks: [ChunkMeta], minTime: Int64, maxTime: Int64) {
        self.labels = labels
        self.chunks = chunks
        self.minTime = minTime
        self.maxTime = maxTime
    }

    public func makeIterator() -> SampleIterator {
        SampleIterator(chunks: chunks, minTime: minTime, maxTime: maxTime)
    }

    /// Every sample in the range, decoded.
    public var samples: [Sample] { Array(self) }
}

/// Walks a series' samples in time order, within the query's range.
///
/// `next()` advances by one, `seek(to:)` jumps forward to a timestamp, `at` is the current
/// sample. Damaged chunk bytes end the iteration and set ``error``.
public struct SampleIterator: IteratorProtocol {
    private let chunks: [ChunkMeta]
    private let minTime: Int64
    private let maxTime: Int64
    private var index = -1
    /// The chunk being read; meaningful only while `active`. Not an Optional: mutating an
    /// Optional's payload copied the iterator (and retained its bytes) on every sample.
    private var current = XORIterator([])
    private var active = false
    private var done = false
    private var hasCurrent = false
    /// The sample `next()` or `seek(to:)` last returned.
    public private(set) var at = Sample(timestamp: .min, value: 0)
    /// Set when a chunk could not be decoded.
    public private(set) var error: TSDBError?

    init(chunks: [ChunkMeta], minTime: Int64, maxTime: Int64) {
        self.chunks = chunks
        self.minTime = minTime
        self.maxTime = maxTime
    }

    public mutating func next() -> Sample? {
        while !done {
            if !active && !advanceChunk() { return finish() }
            if let s = current.next() {
                if s.timestamp < minTime { continue }
                if s.timestamp > maxTime { return finish() }
                at = s
                hasCurrent = true
                return s
            }
            if let e = current.error { error = e; return finish() }
            active = false
        }
        return nil
    }

    /// Moves to the first sample at or after `timestamp` and returns it; nil when none is
    /// left. Never moves backwards.
    public mutating func seek(to timestamp: Int64) -> Sample? {
        if done { return nil }
        if hasCurrent && at.timestamp >= timestamp { return at }
        // Skip whole chunks that end before the target, the current one included.
        if active && chunks[index].maxTime < timestamp { active = false }
        if !active {
            while index + 1 < chunks.count && chunks[index + 1].maxTime < timestamp { index += 1 }
        }
        while let s = next() {
            if s.timestamp >= timestamp { return s }
        }
        return nil
    }

    private mutating func advanceChunk() -> Bool {
        index += 1
        guard index < chunks.count, chunks[index].minTime <= maxTime else { return false }
        current = chunks[index].chunk.makeIterator()
        active = true
        return true
    }

    private mutating func finish() -> Sample? {
        done = true
        active = false
        return nil
    }
}

extension Series {
    /// Appends the series' samples in the query's range to `out`, decoded chunk by chunk
    /// in one loop each: the same samples as iterating, faster. Throws on damaged bytes,
    /// after appending the samples before them.
    package func appendSamples(to out: inout [Sample]) throws(TSDBError) {
        for meta in chunks {
            if meta.minTime > maxTime { break }
            // A chunk wholly before the range has nothing in it (the iterator decodes it and
            // drops every sample).
            if meta.maxTime < minTime { continue }
            if try XORBatchDecoder.decode(meta.chunk.bytes, minTime: minTime, maxTime: maxTime, into: &out) == .pastMaxTime {
                return
            }
        }
    }
}
