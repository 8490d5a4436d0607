import Synchronization
import TSDB

/// Evaluates PromQL over anything ``PromQLQueryable``, in process, as Prometheus 2.42's
/// engine does.
///
/// ```swift
/// let engine = PromQLEngine(options: .init(lookbackDelta: .minutes(5)))
/// let now = Int64(Date().timeIntervalSince1970 * 1000)
/// let result = try engine.instantQuery(db, "sum by (job) (rate(http_requests_total[5m]))", at: now)
/// let matrix = try engine.rangeQuery(db, "up", start: now - 3_600_000, end: now, step: 15_000)
/// ```
///
/// Cost: a query reads the chunks of the series its selectors match over the range it
/// needs, decodes them once per selector, and holds at most `maxSamples` points at once.
public struct PromQLEngine: Sendable {
    public struct Options: Sendable {
        /// How far back an instant selector looks for a sample (Prometheus's `--query.lookback-delta`).
        public var lookbackDelta: Duration
        /// The most points a query may hold at once (`--query.max-samples`).
        public var maxSamples: Int
        /// How long a query may run (`--query.timeout`).
        public var timeout: Duration
        /// Prometheus's limit on the steps of a range query.
        public var maxSteps: Int

        public init(lookbackDelta: Duration = .seconds(300), maxSamples: Int = 50_000_000,
                    timeout: Duration = .seconds(120), maxSteps: Int = 11_000) {
            self.lookbackDelta = lookbackDelta
            self.maxSamples = maxSamples
            self.timeout = timeout
            self.maxSteps = maxSteps
        }
    }

    public let options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Evaluates `query` at one time (milliseconds since the epoch).
    /// - Parameter stats: filled with what the query read, when given.
    public func instantQuery(_ storage: some PromQLQueryable, _ query: String, at time: Int64,
                             cancellation: PromQLCancellation? = nil,
                             stats: PromQLQueryStats? = nil) throws(PromQLError) -> PromQLResult {
        let expr: Expr
        do { expr = try PromQLParser.parse(query) } catch { throw PromQLError(error) }
        return try instantQuery(storage, expr, at: time, cancellation: cancellation, stats: stats)
    }

    /// Evaluates a parsed expression at one time.
    public func instantQuery(_ storage: some PromQLQueryable, _ expr: Expr, at time: Int64,
                             cancellation: PromQLCancellation? = nil,
                             stats: PromQLQueryStats? = nil) throws(PromQLError) -> PromQLResult {
        let grid = Grid(start: time, end: time, interval: 0)
        let ev = Evaluator(storage: storage, options: options, grid: grid,
                           queryStart: time, queryEnd: time, deadline: deadline(), cancellation: cancellation,
                           stats: stats, counter: stats.map { SampleCounter(stats: $0, grid: grid) })
        return try ev.run(expr, instant: true)
    }

    /// Evaluates `query` at every `step` milliseconds from `start` to `end` inclusive.
    /// - Throws: `.parse` for a step ≤ 0, `end < start`, or more than `maxSteps` steps, with
    ///   Prometheus's API messages.
    public func rangeQuery(_ storage: some PromQLQueryable, _ query: String, start: Int64, end: Int64, step: Int64,
                           cancellation: PromQLCancellation? = nil,
                           stats: PromQLQueryStats? = nil) throws(PromQLError) -> PromQLResult {
        let expr: Expr
        do { expr = try PromQLParser.parse(query) } catch { throw PromQLError(error) }
        return try rangeQuery(storage, expr, start: start, end: end, step: step, cancellation: cancellation, stats: stats)
    }

    public func rangeQuery(_ storage: some PromQLQueryable, _ expr: Expr, start: Int64, end: Int64, step: Int64,
                           cancellation: PromQLCancellation? = nil,
                           stats: PromQLQueryStats? = nil) throws(PromQLError) -> PromQLResult {
        guard end >= start else { throw PromQLError(.parse, "end timestamp must not be before start time") }
        guard step > 0 else {
            throw PromQLError(.parse, "zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        // Prometheus allows (end - start) / step of exactly 11,000, so 11,001 points.
        let (span, overflow) = end.subtractingReportingOverflow(start)
        guard !overflow, span / step <= Int64(options.maxSteps) else {
            throw PromQLError(.parse, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        let type = Parser.type(of: expr)
        guard type == .vector || type == .scalar else {
            throw PromQLError(.parse, "invalid expression type \"\(type.documentedName)\" for range query, must be Scalar or instant Vector")
        }
        let grid = Grid(start: start, end: end, interval: step)
        let ev = Evaluator(storage: storage, options: options, grid: grid,
                           queryStart: start, queryEnd: end, deadline: deadline(), cancellation: cancellation,
                           stats: stats, counter: stats.map { SampleCounter(stats: $0, grid: grid) })
        return try ev.run(expr, instant: false)
    }
}

extension PromQLEngine {
    func deadline() -> ContinuousClock.Instant {
        let now = ContinuousClock.now
        // A timeout too large to add means no deadline worth keeping.
        return options.timeout > .seconds(100 * 365 * 86_400) ? now + .seconds(100 * 365 * 86_400) : now + options.timeout
    }
}

/// Lets another thread stop a running query; it then fails with `.canceled`.
public final class PromQLCancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}
