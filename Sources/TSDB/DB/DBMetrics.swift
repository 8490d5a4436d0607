import CoreMetrics
import Synchronization

/// The database's self-metrics, through swift-metrics, named as Prometheus names its own
/// (`prometheus_tsdb_*`), so dashboards built for Prometheus read them.
///
/// Hot-path counts (samples appended, rejections) stay in the head's atomics and are
/// published by ``refresh(head:blocks:walDirectory:)``, which the background thread calls
/// about once a second and `close()` calls once more; events on cold paths (compactions,
/// fsyncs, retention) are recorded when they happen.
final class DBMetrics: Sendable {
    let headSeries: Gauge
    let samplesAppended: Counter
    let outOfOrderSamples: Counter
    let outOfBoundSamples: Counter
    let walFsyncDuration: Timer
    /// The maintenance round's counters (compactions, retention, WAL damage).
    let compaction: CompactionMetrics
    let blocksLoaded: Gauge
    let blocksBytes: Gauge
    let walBytes: Gauge

    /// Head counts already published, so counters advance by the difference.
    private let published = Mutex((appended: 0, outOfOrder: 0, outOfBounds: 0))

    init(factory: (any MetricsFactory)?) {
        func counter(_ label: String) -> Counter {
            factory.map { Counter(label: label, dimensions: [], factory: $0) } ?? Counter(label: label)
        }
        func gauge(_ label: String) -> Gauge {
            factory.map { Gauge(label: label, dimensions: [], factory: $0) } ?? Gauge(label: label)
        }
        func timer(_ label: String) -> Timer {
            factory.map { Timer(label: label, dimensions: [], factory: $0) } ?? Timer(label: label)
        }
        headSeries = gauge("prometheus_tsdb_head_series")
        samplesAppended = counter("prometheus_tsdb_head_samples_appended_total")
        outOfOrderSamples = counter("prometheus_tsdb_out_of_order_samples_total")
        outOfBoundSamples = counter("prometheus_tsdb_out_of_bound_samples_total")
        walFsyncDuration = timer("prometheus_tsdb_wal_fsync_duration_seconds")
        compaction = CompactionMetrics(counter: counter, timer: timer)
        blocksLoaded = gauge("prometheus_tsdb_blocks_loaded")
        blocksBytes = gauge("prometheus_tsdb_storage_blocks_bytes")
        walBytes = gauge("prometheus_tsdb_wal_storage_size_bytes")
    }

    /// Publishes the head's counts and the sizes on disk.
    func refresh(head: Head, blocks: [Block], walDirectory: String, sys: Syscalls) {
        headSeries.record(head.series.seriesCount)
        let appended = head.stats.samplesAppended.load(ordering: .relaxed)
        let outOfOrder = head.stats.outOfOrder.load(ordering: .relaxed)
        let outOfBounds = head.stats.outOfBounds.load(ordering: .relaxed)
        let before = published.withLock { p in
            defer { p = (appended, outOfOrder, outOfBounds) }
            return p
        }
        if appended > before.appended { samplesAppended.increment(by: appended - before.appended) }
        if outOfOrder > before.outOfOrder { outOfOrderSamples.increment(by: outOfOrder - before.outOfOrder) }
        if outOfBounds > before.outOfBounds { outOfBoundSamples.increment(by: outOfBounds - before.outOfBounds) }
        blocksLoaded.record(blocks.count)
        blocksBytes.record(blocks.reduce(Int64(0)) { $0 + DiskUsage.bytes(under: $1.directory, sys: sys) })
        walBytes.record(DiskUsage.bytes(under: walDirectory, sys: sys))
    }
}
