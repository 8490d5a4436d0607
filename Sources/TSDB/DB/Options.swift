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

    /// How WAL records are compressed. Snappy, the default, is what Prometheus reads.
    public var walCompression: WALCompression = .snappy
    /// When the WAL is fsynced; see ``WALSyncMode``.
    public var walSyncMode: WALSyncMode = .onSegmentCut
    /// Largest WAL segment, in bytes: a positive multiple of 32 KiB (128 MiB by default).
    public var walSegmentSize: Int = 128 * 1024 * 1024
    /// Whether ``DB/open(directory:options:)`` may drop a WAL from a corrupt record in the
    /// middle on. A torn tail is always cut away; other corruption fails `open` unless this
    /// is set. What was dropped is reported in ``DB/replayStats``.
    public var repairWAL: Bool = false

    /// The file syscalls; tests replace entries to inject failures.
    var syscalls: Syscalls = .system

    public init() {}

    func validated() throws(TSDBError) -> Options {
        guard blockRange > 0 else { throw TSDBError(.invalidArgument, "blockRange must be positive, got \(blockRange)") }
        guard samplesPerChunk >= 4, samplesPerChunk <= 30_000 else {
            throw TSDBError(.invalidArgument, "samplesPerChunk must be in 4...30000, got \(samplesPerChunk)")
        }
        guard walSegmentSize >= 32 * 1024, walSegmentSize % (32 * 1024) == 0 else {
            throw TSDBError(.invalidArgument, "walSegmentSize must be a positive multiple of 32768, got \(walSegmentSize)")
        }
        return self
    }
}
