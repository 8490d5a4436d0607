import CoreMetrics
import Logging

/// What the maintenance round needs to know, built by the database from its ``Options``
/// (``Options/compactionSettings``), so that compaction depends on nothing above it.
struct CompactionSettings: Sendable {
    /// Width of a head block, in ms (``Options/blockRange``).
    var blockRange: Int64
    /// The leveled compaction ranges, ``blockRange`` × 3ⁿ up to the largest block.
    var ranges: [Int64]
    var retentionDuration: Int64?
    var retentionSize: Int64?
    /// Compression of the checkpoints the round writes.
    var walCompression: WALCompression
    var syscalls: Syscalls
    var logger: Logger
    /// Outside readers of the WAL whose unread segments a truncation keeps (``WALRetention``).
    var walRetention: WALRetention? = nil
}

/// The maintenance round's self-metrics, named as Prometheus's (`prometheus_tsdb_*`).
/// Created once per database by ``DBMetrics``.
struct CompactionMetrics: Sendable {
    let compactionsTotal: Counter
    let compactionsFailed: Counter
    let compactionDuration: Timer
    /// WAL damage found, by replay or by a checkpoint.
    let walCorruptions: Counter
    let timeRetentions: Counter
    let sizeRetentions: Counter
    let deletedBlocks: Counter

    init(counter: (String) -> Counter, timer: (String) -> Timer) {
        compactionsTotal = counter("prometheus_tsdb_compactions_total")
        compactionsFailed = counter("prometheus_tsdb_compactions_failed_total")
        compactionDuration = timer("prometheus_tsdb_compaction_duration_seconds")
        walCorruptions = counter("prometheus_tsdb_wal_corruptions_total")
        timeRetentions = counter("prometheus_tsdb_time_retentions_total")
        sizeRetentions = counter("prometheus_tsdb_size_retentions_total")
        deletedBlocks = counter("prometheus_tsdb_blocks_deleted_total")
    }
}
