/// A series' out-of-order samples not yet written as a chunk, as Prometheus 2.42's
/// `OOOChunk`: uncompressed and sorted by time, at most `OutOfOrderCapMax` (32) of them
/// before they are cut into an XOR chunk with encoding byte `0x81` (FORMAT.md §2).
package struct OOOChunk: Sendable {
    package private(set) var samples: [Sample] = []

    package init() {}

    package var count: Int { samples.count }
    package var isEmpty: Bool { samples.isEmpty }
    package var minTime: Int64? { samples.first?.timestamp }
    package var maxTime: Int64? { samples.last?.timestamp }

    /// Inserts in time order. A timestamp already held keeps its first value whatever
    /// the new one is, and `false` is returned (Prometheus drops it silently).
    @discardableResult
    package mutating func insert(timestamp t: Int64, value: Double) -> Bool {
        if let last = samples.last?.timestamp, t <= last {
            // Binary search for the first sample at or after `t`.
            var lo = 0, hi = samples.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if samples[mid].timestamp < t { lo = mid + 1 } else { hi = mid }
            }
            if samples[lo].timestamp == t { return false }
            samples.insert(Sample(timestamp: t, value: value), at: lo)
            return true
        }
        samples.append(Sample(timestamp: t, value: value))
        return true
    }

    /// The samples with `minTime ≤ t ≤ maxTime` as an XOR chunk (encoding 1 bytes; the
    /// `0x81` byte is the chunk file's, not the chunk's).
    package func xorChunk(minTime: Int64 = .min, maxTime: Int64 = .max) -> XORChunk {
        XORChunk(encoding: samples.lazy.filter { $0.timestamp >= minTime && $0.timestamp <= maxTime })
    }
}
