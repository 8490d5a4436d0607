import CoreMetrics
import Exposition
import Logging
import Synchronization
import TSDB

/// A swift-metrics `MetricsFactory` that records the program's own metrics into a ``TSDB/DB``,
/// sampled as a Prometheus scrape of a swift-prometheus `/metrics` page would store them.
///
/// ```swift
/// let db = try DB.open(directory: "data")
/// let metrics = try TSDBMetricsFactory(db: db, options: .init())
/// MetricsSystem.bootstrap(metrics)
/// let sampler = Task { await metrics.run() }   // samples every 15 s until cancelled
/// ...
/// sampler.cancel()
/// ```
///
/// - Counters and floating-point counters: `<name>_total` (unless the name ends in `_total`).
/// - Meters and non-aggregating recorders: a gauge `<name>`.
/// - Timers and aggregating recorders: a classic histogram, `<name>_bucket{le=...}`
///   (cumulative, ending with `le="+Inf"`), `<name>_sum` and `<name>_count`; timers in seconds.
/// - Names and dimension names are sanitised as swift-prometheus 2.4 does; dimensions become
///   labels, after the constant labels of ``Options/constantLabels``.
/// - A destroyed metric gets a staleness marker on each of its series at the next sample,
///   then is dropped.
///
/// Handlers may be used from any thread. Recording takes no lock shared between metrics:
/// counters and gauges are atomics, each histogram has its own lock. Making and destroying
/// handlers takes the factory's lock. Asking twice for the same name and dimensions returns
/// the same handler, as swift-prometheus does, so destroying one destroys it for all. A name
/// already used by a metric of another type (swift-prometheus traps on that), or one that is
/// empty or still invalid after sanitising, gets a working handler that is never stored, and
/// an error is logged.
public final class TSDBMetricsFactory: Sendable {
    public let db: DB
    public let options: Options
    private let namer: SeriesNamer
    private let state = Mutex(Registry())
    /// Held for the whole of one ``sample(at:)``, so samples are appended in order.
    private let sampling = Mutex(())

    /// - Throws: ``TSDB/TSDBError/Code/invalidArgument`` for an interval that is not positive.
    public init(db: DB, options: Options = Options()) throws(TSDBError) {
        guard options.interval > .zero else {
            throw TSDBError(.invalidArgument, "the sampling interval must be positive, got \(options.interval)")
        }
        self.db = db
        self.options = options
        self.namer = SeriesNamer(constantLabels: options.constantLabels)
    }

    /// Number of live metrics (handlers not destroyed).
    public var metricCount: Int { state.withLock { $0.metrics.count } }

    // MARK: Sampling

    /// Appends one sample of every live metric at `timestamp` (milliseconds), and a staleness
    /// marker for every series of a metric destroyed since the last sample, in one commit.
    /// Safe from any thread; concurrent calls run one after the other.
    /// - Returns: what was appended, and the samples the database refused (for example with
    ///   ``TSDB/TSDBError/Code/outOfOrderSample`` when `timestamp` is not after the previous
    ///   sample's); the others are committed all the same.
    /// - Throws: when no appender can be had (the database is closed or read-only) or the
    ///   commit fails; nothing is then committed, and the staleness markers are kept for the
    ///   next sample.
    @discardableResult
    public func sample(at timestamp: Int64) throws(TSDBError) -> SampleReport {
        try sampling.withLock { _ throws(TSDBError) -> SampleReport in
            let (metrics, stale) = state.withLock { r in
                let stale = r.stale
                r.stale = []
                return (Array(r.metrics.values), stale)
            }
            do throws(TSDBError) {
                return try append(metrics, stale: stale, at: timestamp)
            } catch {
                state.withLock { $0.stale.insert(contentsOf: stale, at: 0) }
                throw error
            }
        }
    }

    private func append(_ metrics: [any SampledMetric], stale: [Labels], at timestamp: Int64) throws(TSDBError) -> SampleReport {
        var report = SampleReport()
        var app = try db.appender()
        var live = Set<Labels>()
        for metric in metrics {
            for (labels, value) in zip(metric.series, metric.values()) {
                if !stale.isEmpty { live.insert(labels) }
                do throws(TSDBError) {
                    try app.append(labels, timestamp: timestamp, value: value)
                    report.appended += 1
                } catch {
                    report.rejected.append(.init(labels: labels, error: error))
                }
            }
        }
        // A series that a new handler took over since is live again: no marker for it.
        for labels in stale where !live.contains(labels) {
            do throws(TSDBError) {
                try app.append(labels, timestamp: timestamp, value: TSDBMetricsFactory.staleNaN)
                report.appended += 1
                report.staleMarkers += 1
            } catch {
                report.rejected.append(.init(labels: labels, error: error))
            }
        }
        try app.commit()
        return report
    }

    /// Prometheus's staleness marker, the NaN with bits `0x7ff0000000000002`, which PromQL
    /// treats as the end of a series.
    public static let staleNaN = Double(bitPattern: 0x7ff0_0000_0000_0002)

    /// Samples every ``Options/interval`` (the first at once) until the task is cancelled,
    /// stamping samples with ``Options/clock``. Intervals missed because a sample was slow
    /// are skipped, not caught up. Failures and rejected samples are logged, never thrown.
    public func run() async {
        let clock = ContinuousClock()
        var next = clock.now
        let now = options.clock ?? db.options.clock
        while !Task.isCancelled {
            do {
                let report = try sample(at: now())
                if let first = report.rejected.first {
                    options.logger.warning("samples rejected", metadata: [
                        "count": "\(report.rejected.count)", "first": "\(first.labels)", "error": "\(first.error)"])
                }
            } catch {
                options.logger.error("sampling failed", metadata: ["error": "\(error)"])
            }
            let current = clock.now
            repeat { next += options.interval } while next <= current
            do { try await Task.sleep(until: next, clock: clock) } catch { return }
        }
    }

    // MARK: Making handlers

    func counter(label: String, dimensions: [(String, String)]) -> CounterMetric {
        let name = PrometheusNaming.metricName(label)
        let pairs = namer.labelPairs(dimensions)
        return register(kind: .counter, name: name, pairs: pairs) { () throws(TSDBError) in
            let stored = name.hasSuffix("_total") ? name : name + "_total"
            return CounterMetric(series: [try namer.labels(name: stored, pairs)])
        } detached: { CounterMetric(series: []) }
    }

    func gauge(label: String, dimensions: [(String, String)]) -> GaugeMetric {
        let name = PrometheusNaming.metricName(label)
        let pairs = namer.labelPairs(dimensions)
        return register(kind: .gauge, name: name, pairs: pairs) { () throws(TSDBError) in
            GaugeMetric(series: [try namer.labels(name: name, pairs)])
        } detached: { GaugeMetric(series: []) }
    }

    func timer(label: String, dimensions: [(String, String)]) -> TimerMetric {
        let name = PrometheusNaming.metricName(label)
        let pairs = namer.labelPairs(dimensions, reserved: ["le"])
        let requested = options.timerBuckets[label] ?? options.timerBuckets[name] ?? options.defaultTimerBuckets
        let bounds = Self.normalised(requested.compactMap(Self.nanoseconds))
        return register(kind: .timer, name: name, pairs: pairs) { () throws(TSDBError) in
            let series = try histogramSeries(name: name, pairs: pairs, bounds: bounds.map { Double($0) / 1e9 })
            return TimerMetric(histogram: HistogramMetric(bounds: bounds, series: series))
        } detached: { TimerMetric(histogram: HistogramMetric(bounds: bounds, series: [])) }
    }

    func recorder(label: String, dimensions: [(String, String)]) -> RecorderMetric {
        let name = PrometheusNaming.metricName(label)
        let pairs = namer.labelPairs(dimensions, reserved: ["le"])
        let requested = options.recorderBuckets[label] ?? options.recorderBuckets[name] ?? options.defaultRecorderBuckets
        let bounds = Self.normalised(requested.filter(\.isFinite))
        return register(kind: .recorder, name: name, pairs: pairs) { () throws(TSDBError) in
            let series = try histogramSeries(name: name, pairs: pairs, bounds: bounds)
            return RecorderMetric(histogram: HistogramMetric(bounds: bounds, series: series))
        } detached: { RecorderMetric(histogram: HistogramMetric(bounds: bounds, series: [])) }
    }

    /// The buckets' series (each bound, then `+Inf`), `_sum` and `_count`.
    private func histogramSeries(name: String, pairs: [(String, String)], bounds: [Double]) throws(TSDBError) -> [Labels] {
        var series: [Labels] = []
        series.reserveCapacity(bounds.count + 3)
        for bound in bounds + [.infinity] {
            series.append(try namer.labels(name: name + "_bucket", pairs, extra: ("le", GoFormat.float(bound))))
        }
        series.append(try namer.labels(name: name + "_sum", pairs))
        series.append(try namer.labels(name: name + "_count", pairs))
        return series
    }

    static func nanoseconds(_ d: Duration) -> Int64? {
        let (s, atto) = d.components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (sum, overflow2) = ns.addingReportingOverflow(atto / 1_000_000_000)
        return overflow2 ? nil : sum
    }

    static func normalised<T: Comparable & Hashable>(_ bounds: [T]) -> [T] {
        Array(Set(bounds)).sorted()
    }

    /// Returns the registered metric for `(kind, name, pairs)`, making it with `make` the
    /// first time. A clash with another kind, or labels that cannot be built, give `detached`.
    private func register<M: SampledMetric>(
        kind: Registry.Kind, name: String, pairs: [(String, String)],
        make: () throws(TSDBError) -> M, detached: () -> M
    ) -> M {
        let key = Registry.Key(kind: kind, name: name, pairs: pairs)
        let result: Result<M, RegistrationProblem> = !PrometheusNaming.isValidStoredMetricName(name) ? .failure(.invalidName) : state.withLock { r in
            if let existing = r.metrics[key] {
                if let same = existing as? M { return .success(same) }
            }
            if let other = r.families[name], other.kind != kind {
                return .failure(.clash(other.kind))
            }
            let metric: M
            do throws(TSDBError) { metric = try make() } catch { return .failure(.labels(error)) }
            r.metrics[key] = metric
            r.keys[ObjectIdentifier(metric)] = key
            r.families[name, default: .init(kind: kind, count: 0)].count += 1
            return .success(metric)
        }
        switch result {
        case .success(let metric):
            return metric
        case .failure(.clash(let other)):
            options.logger.error("metric name already used by another type; this one is not recorded", metadata: [
                "name": "\(name)", "type": "\(kind)", "registered_type": "\(other)"])
            return detached()
        case .failure(.invalidName):
            options.logger.error("metric name is empty or not a valid Prometheus name after sanitising; it is not recorded",
                                 metadata: ["name": "\(name)", "type": "\(kind)"])
            return detached()
        case .failure(.labels(let error)):
            options.logger.error("metric has no valid series name; it is not recorded", metadata: [
                "name": "\(name)", "error": "\(error)"])
            return detached()
        }
    }

    private enum RegistrationProblem: Error {
        case clash(Registry.Kind)
        case labels(TSDBError)
        case invalidName
    }

    /// Unregisters `handler` if it is one of ours and still registered; its series get
    /// staleness markers at the next sample.
    func destroy(_ handler: AnyObject) {
        state.withLock { r in
            let id = ObjectIdentifier(handler)
            guard let key = r.keys[id], let metric = r.metrics[key], metric === handler else { return }
            r.keys[id] = nil
            r.metrics[key] = nil
            if let family = r.families[key.name] {
                r.families[key.name] = family.count > 1 ? .init(kind: family.kind, count: family.count - 1) : nil
            }
            r.stale.append(contentsOf: metric.series)
        }
    }
}

/// The factory's live metrics, guarded by its lock.
struct Registry: ~Copyable {
    enum Kind: String, Sendable { case counter, gauge, timer, recorder }

    struct Key: Hashable, Sendable {
        var kind: Kind
        var name: String
        var pairs: [String]

        init(kind: Kind, name: String, pairs: [(String, String)]) {
            self.kind = kind
            self.name = name
            self.pairs = pairs.sorted { $0.0 < $1.0 }.flatMap { [$0.0, $0.1] }
        }
    }

    struct Family: Sendable {
        var kind: Kind
        var count: Int
    }

    var metrics: [Key: any SampledMetric] = [:]
    var keys: [ObjectIdentifier: Key] = [:]
    /// The kind each metric name is used for, and by how many live metrics.
    var families: [String: Family] = [:]
    /// Series of destroyed metrics, waiting for their staleness marker.
    var stale: [Labels] = []
}

extension TSDBMetricsFactory: MetricsFactory {
    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        counter(label: label, dimensions: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        counter(label: label, dimensions: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        gauge(label: label, dimensions: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        aggregate ? recorder(label: label, dimensions: dimensions) : gauge(label: label, dimensions: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        timer(label: label, dimensions: dimensions)
    }

    public func destroyCounter(_ handler: any CounterHandler) { destroy(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { destroy(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { destroy(handler) }
    public func destroyRecorder(_ handler: any RecorderHandler) { destroy(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { destroy(handler) }
}
