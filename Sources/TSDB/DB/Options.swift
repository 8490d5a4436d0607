import CoreMetrics
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// How a ``DB`` behaves. The defaults are Prometheus's.
public struct Options: Sendable {
    /// Width of a block and of the head's chunk range, in milliseconds (2 h).
    public var blockRange: Int64 = 2 * 3_600_000
    /// Target samples per chunk; a chunk is cut at the chunk-range boundary, near 1 KiB,
    /// or at twice this many samples.
    public var samplesPerChunk: Int = 120
    /// Whether the background thread compacts: cuts the head into blocks, merges blocks
    /// (leveled and vertical compaction) and applies retention, about once a second.
    /// ``DB/compact()`` runs the same work on demand either way.
    public var compactionEnabled: Bool = true
    /// The largest block compaction builds, in milliseconds. Blocks are merged into ranges
    /// of ``blockRange`` × 3ⁿ up to this. nil chooses as Prometheus does: a tenth of
    /// ``retentionDuration``, at most 31 days.
    public var maxBlockDuration: Int64? = nil
    /// Time retention in milliseconds: a block is deleted once all of it is older than the
    /// newest sample (in blocks or head) minus this. nil keeps data forever. Prometheus's
    /// default is 15 days.
    public var retentionDuration: Int64? = nil
    /// Size retention in bytes: the oldest blocks are deleted while blocks plus WAL take more
    /// than this, keeping room for the block the next compaction writes (README, "How the
    /// size is counted"). nil means no limit.
    public var retentionSize: Int64? = nil
    /// Where the engine logs: replay repairs, compactions, retention. By default a logger
    /// from the process's `LoggingSystem`.
    public var logger = Logger(label: "tsdb")
    /// Where self-metrics go; nil uses the process's `MetricsSystem` (see ``DB``).
    public var metricsFactory: (any MetricsFactory)? = nil
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

    /// How far ahead of ``clock`` a sample may be, in milliseconds (10 minutes, as Mimir's
    /// creation grace period). A later sample is rejected with
    /// ``TSDBError/Code/tooFarInFuture``: one far-future sample would otherwise move the
    /// head's time forward and make every normal append ``TSDBError/Code/outOfBounds``
    /// (Prometheus issue 13573). nil turns the check off, for backfills and synthetic data
    /// (README, "Timestamps").
    public var maxFutureSkew: Int64? = 10 * 60_000
    /// The wall clock in milliseconds since 1970, read once per ``Appender`` for
    /// ``maxFutureSkew``. Tests and simulations replace it.
    public var clock: @Sendable () -> Int64 = Options.systemClock

    /// The real time, from `clock_gettime(CLOCK_REALTIME)`.
    public static let systemClock: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The newest timestamp an appender made now accepts, nil without a limit.
    func latestAcceptedTimestamp() -> Int64? {
        guard let skew = maxFutureSkew else { return nil }
        let (sum, overflow) = clock().addingReportingOverflow(skew)
        return overflow ? nil : sum
    }

    /// The file syscalls; tests replace entries to inject failures.
    package var syscalls: Syscalls = .system

    /// How the WAL replay splits its work (threads, piece size); tests vary it.
    package var replayTuning = ReplayTuning()

    public init() {}

    /// The compaction ranges: ``blockRange`` × 3ⁿ up to the largest block duration.
    var compactionRanges: [Int64] {
        let maxDuration = maxBlockDuration ?? CompactionPlanner.maxBlockDuration(retention: retentionDuration)
        return CompactionPlanner.blockRanges(minBlockDuration: blockRange, maxBlockDuration: maxDuration)
    }

    /// What the maintenance round takes from these options.
    var compactionSettings: CompactionSettings {
        CompactionSettings(blockRange: blockRange, ranges: compactionRanges, retentionDuration: retentionDuration,
                           retentionSize: retentionSize, walCompression: walCompression, syscalls: syscalls, logger: logger)
    }

    func validated() throws(TSDBError) -> Options {
        let longest = TimestampDomain.maxDuration
        let widest = TimestampDomain.maxBlockDuration
        guard blockRange > 0, blockRange <= widest else { throw TSDBError(.invalidArgument, "blockRange must be in 1...\(widest), got \(blockRange)") }
        if let d = maxBlockDuration, d > widest { throw TSDBError(.invalidArgument, "maxBlockDuration must be at most \(widest), got \(d)") }
        if let r = retentionDuration, r > longest { throw TSDBError(.invalidArgument, "retentionDuration must be at most \(longest), got \(r)") }
        if let s = maxFutureSkew, s < 0 || s > longest {
            throw TSDBError(.invalidArgument, "maxFutureSkew must be in 0...\(longest), got \(s)")
        }
        guard samplesPerChunk >= 4, samplesPerChunk <= 30_000 else {
            throw TSDBError(.invalidArgument, "samplesPerChunk must be in 4...30000, got \(samplesPerChunk)")
        }
        if let d = maxBlockDuration, d < blockRange {
            throw TSDBError(.invalidArgument, "maxBlockDuration must be at least blockRange (\(blockRange)), got \(d)")
        }
        if let r = retentionDuration, r <= 0 { throw TSDBError(.invalidArgument, "retentionDuration must be positive, got \(r)") }
        if let r = retentionSize, r <= 0 { throw TSDBError(.invalidArgument, "retentionSize must be positive, got \(r)") }
        guard walSegmentSize >= 32 * 1024, walSegmentSize % (32 * 1024) == 0 else {
            throw TSDBError(.invalidArgument, "walSegmentSize must be a positive multiple of 32768, got \(walSegmentSize)")
        }
        return self
    }
}
