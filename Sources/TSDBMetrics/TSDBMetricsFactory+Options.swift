import Logging
import TSDB

extension TSDBMetricsFactory {
    /// How a ``TSDBMetricsFactory`` samples and names its metrics.
    public struct Options: Sendable {
        /// How often ``TSDBMetricsFactory/run()`` samples: Prometheus's `scrape_interval`.
        public var interval: Duration = .seconds(15)
        /// Labels added to every series, like a scrape target's `job` and `instance`. Their
        /// names are sanitised as dimension names are; on a clash they win and the
        /// dimension is stored as `exported_<name>`, as Prometheus does with `honor_labels: false`.
        public var constantLabels: [(String, String)] = []
        /// Upper bounds of every timer's buckets, unless ``timerBuckets`` names the timer.
        /// Prometheus's default buckets, 5 ms to 10 s.
        public var defaultTimerBuckets: [Duration] = TSDBMetricsFactory.prometheusDefaultBuckets.map {
            .nanoseconds(Int64(($0 * 1e9).rounded()))
        }
        /// Buckets by timer label (as passed to swift-metrics, or as sanitised).
        public var timerBuckets: [String: [Duration]] = [:]
        /// Upper bounds of every aggregating recorder's buckets, unless ``recorderBuckets``
        /// names it. Prometheus's default buckets, 0.005 to 10.
        public var defaultRecorderBuckets: [Double] = TSDBMetricsFactory.prometheusDefaultBuckets
        /// Buckets by recorder label (as passed to swift-metrics, or as sanitised).
        public var recorderBuckets: [String: [Double]] = [:]
        /// The clock ``TSDBMetricsFactory/run()`` stamps samples with, in milliseconds since
        /// the epoch; nil uses the database's ``TSDB/Options/clock``.
        public var clock: (@Sendable () -> Int64)? = nil
        /// Where sampling problems (rejected samples, failed commits, name clashes) go.
        public var logger = Logger(label: "tsdb.metrics")

        public init() {}
    }

    /// Prometheus's `DefBuckets`: `.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10`.
    public static let prometheusDefaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

/// The result of one ``TSDBMetricsFactory/sample(at:)``.
public struct SampleReport: Sendable {
    /// Samples committed, stale markers included.
    public var appended: Int = 0
    /// Staleness markers written for destroyed metrics.
    public var staleMarkers: Int = 0
    /// Samples the database refused (for example out of order, when `timestamp` is not
    /// later than the previous sample's); the rest of the sample was committed.
    public var rejected: [Rejection] = []

    public struct Rejection: Sendable {
        public var labels: Labels
        public var error: TSDBError
    }
}
