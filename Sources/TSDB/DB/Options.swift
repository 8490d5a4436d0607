/// How a ``DB`` behaves. The defaults are Prometheus's.
public struct Options: Sendable {
    /// Width of a block and of the head's chunk range, in milliseconds (2 h).
    public var blockRange: Int64 = 2 * 3_600_000
    /// Target samples per chunk; a chunk is cut at the chunk-range boundary, near 1 KiB,
    /// or at twice this many samples.
    public var samplesPerChunk: Int = 120
    /// Whether background compaction runs. Kept for the lifecycle issue; nothing compacts yet.
    public var compactionEnabled: Bool = true
    /// Size cap for open XOR chunks; `nil` only to reproduce promtool 2.42's chunks in tests.
    var xorChunkByteCap: Int? = 1024 - 19

    public init() {}

    func validated() throws(TSDBError) -> Options {
        guard blockRange > 0 else { throw TSDBError(.invalidArgument, "blockRange must be positive, got \(blockRange)") }
        guard samplesPerChunk >= 4, samplesPerChunk <= 30_000 else {
            throw TSDBError(.invalidArgument, "samplesPerChunk must be in 4...30000, got \(samplesPerChunk)")
        }
        return self
    }
}
