import CoreMetrics
import Synchronization

/// One endpoint's counts so far: what its metrics report, for callers and tests.
public struct RemoteWriteStats: Sendable, Equatable {
    /// Samples in requests the receiver accepted.
    public var samplesSent = 0
    /// Samples in attempts to send, retries included (`prometheus_remote_storage_samples_total`).
    public var samplesAttempted = 0
    /// Samples sent again after a recoverable failure (5xx, 429, connection error).
    public var samplesRetried = 0
    /// Samples the receiver refused with a 4xx other than 429; not sent again.
    public var samplesFailed = 0
    /// Samples read from the WAL and not sent: an unknown series, a series the filter
    /// drops, or a segment skipped because the sender fell too far behind.
    public var samplesDropped = 0
    /// Requests that failed and were retried.
    public var retries = 0
    /// WAL segments that were gone before the sender read them (truncated past its cap).
    public var segmentsLost = 0
    public var shards = 0
}

/// An endpoint's self-metrics, named as Prometheus 2.42's remote-storage metrics, each
/// with `remote_name` and `url` dimensions. Thread-safe.
final class SenderMetrics: Sendable {
    private let samplesTotal: Counter
    private let samplesFailed: Counter
    private let samplesDropped: Counter
    private let samplesRetried: Counter
    private let shards: Gauge
    private let samplesPending: Gauge
    private let highestTimestamp: Gauge
    private let highestSent: Gauge
    private let state = Mutex(State())

    private struct State {
        var stats = RemoteWriteStats()
        var pending = 0
        var highestRead = Int64.min
        var highestSent = Int64.min
    }

    init(name: String, url: String, factory: (any MetricsFactory)?) {
        let dims = [("remote_name", name), ("url", url)]
        func counter(_ label: String) -> Counter {
            factory.map { Counter(label: label, dimensions: dims, factory: $0) } ?? Counter(label: label, dimensions: dims)
        }
        func gauge(_ label: String) -> Gauge {
            factory.map { Gauge(label: label, dimensions: dims, factory: $0) } ?? Gauge(label: label, dimensions: dims)
        }
        samplesTotal = counter("prometheus_remote_storage_samples_total")
        samplesFailed = counter("prometheus_remote_storage_samples_failed_total")
        samplesDropped = counter("prometheus_remote_storage_samples_dropped_total")
        samplesRetried = counter("prometheus_remote_storage_samples_retried_total")
        shards = gauge("prometheus_remote_storage_shards")
        samplesPending = gauge("prometheus_remote_storage_samples_pending")
        highestTimestamp = gauge("prometheus_remote_storage_highest_timestamp_in_seconds")
        highestSent = gauge("prometheus_remote_storage_queue_highest_sent_timestamp_seconds")
    }

    var stats: RemoteWriteStats { state.withLock { $0.stats } }
    var pendingSamples: Int { state.withLock { $0.pending } }
    var highestReadTimestamp: Int64 { state.withLock { $0.highestRead } }
    var highestSentTimestamp: Int64 { state.withLock { $0.highestSent } }

    func attempted(_ n: Int) {
        state.withLock { $0.stats.samplesAttempted += n }
        samplesTotal.increment(by: Int64(n))
    }

    func sent(_ n: Int, highestTimestamp t: Int64) {
        let publish = state.withLock { st -> Int64? in
            st.stats.samplesSent += n
            guard t > st.highestSent else { return nil }
            st.highestSent = t
            return t
        }
        if let publish { highestSent.record(Double(publish) / 1000) }
    }

    func retried(_ n: Int) {
        state.withLock {
            $0.stats.samplesRetried += n
            $0.stats.retries += 1
        }
        samplesRetried.increment(by: Int64(n))
    }

    func failed(_ n: Int) {
        state.withLock { $0.stats.samplesFailed += n }
        samplesFailed.increment(by: Int64(n))
    }

    func dropped(_ n: Int) {
        guard n > 0 else { return }
        state.withLock { $0.stats.samplesDropped += n }
        samplesDropped.increment(by: Int64(n))
    }

    func segmentLost() { state.withLock { $0.stats.segmentsLost += 1 } }

    func setShards(_ n: Int) {
        state.withLock { $0.stats.shards = n }
        shards.record(n)
    }

    func pending(_ delta: Int) {
        let now = state.withLock { st -> Int in
            st.pending += delta
            return st.pending
        }
        samplesPending.record(now)
    }

    func read(highestTimestamp t: Int64) {
        let publish = state.withLock { st -> Int64? in
            guard t > st.highestRead else { return nil }
            st.highestRead = t
            return t
        }
        if let publish { highestTimestamp.record(Double(publish) / 1000) }
    }
}
