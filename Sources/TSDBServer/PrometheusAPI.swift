import Foundation
import Logging
import PromQL
import TSDB

/// Prometheus 2.42's HTTP API (`/api/v1/...`) over one ``DB``, independent of the HTTP
/// server: ``handle(_:form:labelName:)`` turns an endpoint and its parameters into the
/// status and JSON Prometheus gives. ``TSDBServer`` mounts it on a Hummingbird router.
public final class PrometheusAPI: Sendable {
    public struct Configuration: Sendable {
        /// `--web.enable-admin-api`.
        public var enableAdminAPI = false
        /// `--query.timeout`.
        public var queryTimeout: Duration = .seconds(120)
        /// `--query.max-concurrency`.
        public var maxConcurrency = 20
        /// `--query.max-samples`.
        public var maxSamples = 50_000_000
        /// `--query.lookback-delta`.
        public var lookbackDelta: Duration = .seconds(300)
        /// `--enable-feature=promql-per-step-stats`: `stats=all` also gives the samples read at each step.
        public var enablePerStepStats = false
        /// The longest `query` parameter accepted, in bytes (Prometheus has no limit).
        public var maxQueryLength = 256 * 1024
        /// The largest form body read, as Go's ParseForm caps it (10 MB).
        public var maxBodySize = 10 << 20
        /// Cancel a query whose client closed the connection. With a server built by
        /// `HTTPServerBuilder.http1WatchingDisconnects` (``TSDBServer``'s `application`),
        /// connections stay alive; on another server the connection is closed after every
        /// query's answer (Hummingbird's `consumeWithCancellationOnInboundClose`).
        public var cancelQueriesOnDisconnect = true
        /// What `/api/v1/status/flags` lists.
        public var flags: [String: String] = [:]
        /// `storageRetention` in `/api/v1/status/runtimeinfo`, e.g. `15d`.
        public var storageRetention = ""
        /// `/api/v1/status/buildinfo`.
        public var buildInfo = BuildInfo()

        public init() {}
    }

    public struct BuildInfo: Sendable {
        public var version = "2.42.0"
        public var revision = "swift-tsdb"
        public var branch = "server"
        public var buildUser = ""
        public var buildDate = ""
        public var goVersion = "swift6"
        public init() {}
    }

    /// The endpoints, by their path under `/api/v1`.
    public enum Endpoint: String, Sendable, CaseIterable {
        case query, queryRange = "query_range", queryExemplars = "query_exemplars", formatQuery = "format_query"
        case labels, labelValues = "label/:name/values", series, metadata
        case buildInfo = "status/buildinfo", runtimeInfo = "status/runtimeinfo", flags = "status/flags"
        case tsdbStatus = "status/tsdb", config = "status/config", walReplay = "status/walreplay"
        case targets, rules, alerts, alertmanagers
        case deleteSeries = "admin/tsdb/delete_series", cleanTombstones = "admin/tsdb/clean_tombstones"
        case snapshot = "admin/tsdb/snapshot"

        /// The methods Prometheus routes to the endpoint.
        public var methods: [String] {
            switch self {
            case .query, .queryRange, .queryExemplars, .formatQuery, .labels, .series: ["GET", "POST"]
            case .deleteSeries, .cleanTombstones, .snapshot: ["POST", "PUT"]
            default: ["GET"]
            }
        }
    }

    public let db: DB
    public let configuration: Configuration
    let gate: QueryGate
    let logger: Logger
    let startTime: GoTime

    public init(db: DB, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "tsdb-server")) {
        self.db = db
        self.configuration = configuration
        self.logger = logger
        gate = QueryGate(limit: configuration.maxConcurrency)
        startTime = .now()
    }

    /// Queries running and waiting now.
    public var runningQueries: Int { gate.running }
    public var queuedQueries: Int { gate.queued }

    /// Answers one request. `labelName` is the `:name` of `label/:name/values`, decoded.
    public func handle(_ endpoint: Endpoint, form: FormValues, labelName: String? = nil) async -> APIResponse {
        switch endpoint {
        case .query: return await instantQuery(form)
        case .queryRange: return await rangeQuery(form)
        case .queryExemplars: return queryExemplars(form)
        case .formatQuery: return formatQuery(form)
        case .labels: return await labelNames(form)
        case .labelValues: return await labelValues(form, name: labelName ?? "")
        case .series: return await series(form)
        case .metadata: return metadata(form)
        case .buildInfo: return buildInfo()
        case .runtimeInfo: return runtimeInfo()
        case .flags: return flags()
        case .tsdbStatus: return await tsdbStatus()
        case .config: return .success { $0.raw(#"{"yaml":"global: {}\n"}"#) }
        case .walReplay: return .success { $0.raw(#"{"min":0,"max":0,"current":0}"#) }
        case .targets: return .success { $0.raw(#"{"activeTargets":[],"droppedTargets":[]}"#) }
        case .rules: return .success { $0.raw(#"{"groups":[]}"#) }
        case .alerts: return .success { $0.raw(#"{"alerts":[]}"#) }
        case .alertmanagers: return .success { $0.raw(#"{"activeAlertmanagers":[],"droppedAlertmanagers":[]}"#) }
        case .deleteSeries: return await deleteSeries(form)
        case .cleanTombstones: return await cleanTombstones()
        case .snapshot: return await snapshot(form)
        }
    }

    // MARK: Queries

    func engine(timeout: Duration) -> PromQLEngine {
        PromQLEngine(options: .init(lookbackDelta: configuration.lookbackDelta, maxSamples: configuration.maxSamples,
                                    timeout: timeout, maxSteps: 11_000))
    }

    /// The query's timeout: `--query.timeout`, or the `timeout` parameter when shorter.
    func timeout(_ form: FormValues) -> Result<Duration, ParamError> {
        let text = form.first("timeout")
        guard !text.isEmpty else { return .success(configuration.queryTimeout) }
        do {
            let ns = try TimeParsing.parseDuration(text)
            return .success(Swift.min(configuration.queryTimeout, .nanoseconds(ns)))
        } catch {
            return .failure(error)
        }
    }

    func parseQuery(_ text: String) -> Result<Expr, APIResponse> {
        if text.utf8.count > configuration.maxQueryLength {
            return .failure(.invalidParameter("query", "query is \(text.utf8.count) bytes long, the limit is \(configuration.maxQueryLength)"))
        }
        do throws(PromQLParseError) { return .success(try PromQLParser.parse(text)) } catch {
            return .failure(.invalidParameter("query", error.description))
        }
    }

    func instantQuery(_ form: FormValues) async -> APIResponse {
        let ts: GoTime
        do { ts = try TimeParsing.parseTimeParam(form, "time", default: .now()) } catch {
            return .invalidParameter("time", error.text)
        }
        let limit: Duration
        switch timeout(form) {
        case .success(let d): limit = d
        case .failure(let e): return .invalidParameter("timeout", e.text)
        }
        let expr: Expr
        switch parseQuery(form.first("query")) {
        case .success(let e): expr = e
        case .failure(let r): return r
        }
        let at = ts.engineMilliseconds
        return await execute(limit: limit, stats: form.first("stats")) { engine, cancellation, stats throws(PromQLError) in
            try engine.instantQuery(self.db, expr, at: at, cancellation: cancellation, stats: stats)
        }
    }

    func rangeQuery(_ form: FormValues) async -> APIResponse {
        let start: GoTime, end: GoTime
        do { start = try TimeParsing.parseTime(form.first("start")) } catch { return .invalidParameter("start", error.text) }
        do { end = try TimeParsing.parseTime(form.first("end")) } catch { return .invalidParameter("end", error.text) }
        if end.seconds < start.seconds || (end.seconds == start.seconds && end.nanoseconds < start.nanoseconds) {
            return .invalidParameter("end", "end timestamp must not be before start time")
        }
        let stepNs: Int64
        do { stepNs = try TimeParsing.parseDuration(form.first("step")) } catch { return .invalidParameter("step", error.text) }
        if stepNs <= 0 {
            return .invalidParameter("step", "zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        // end.Sub(start), saturating as Go's time.Sub does.
        let span = Int128(end.seconds) * 1_000_000_000 + Int128(end.nanoseconds)
            - Int128(start.seconds) * 1_000_000_000 - Int128(start.nanoseconds)
        let spanNs = Swift.min(span, Int128(Int64.max))
        if spanNs / Int128(stepNs) > 11_000 {
            return .error(.badData, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        let limit: Duration
        switch timeout(form) {
        case .success(let d): limit = d
        case .failure(let e): return .invalidParameter("timeout", e.text)
        }
        let text = form.first("query")
        if text.utf8.count > configuration.maxQueryLength {
            return .error(.badData, "query is \(text.utf8.count) bytes long, the limit is \(configuration.maxQueryLength)")
        }
        let expr: Expr
        do { expr = try PromQLParser.parse(text) } catch { return .error(.badData, error.description) }
        let s = start.engineMilliseconds, e = end.engineMilliseconds
        let step = Swift.max(1, stepNs / 1_000_000)
        return await execute(limit: limit, stats: form.first("stats")) { engine, cancellation, stats throws(PromQLError) in
            try engine.rangeQuery(self.db, expr, start: s, end: e, step: step, cancellation: cancellation, stats: stats)
        }
    }

    /// Waits for a slot, evaluates off the cooperative pool, and writes the JSON there too.
    /// A cancelled task (the client went away) cancels the evaluation. Any `stats` value
    /// asks for timings and sample counts; `all` also for counts per step, with the feature on.
    func execute(limit: Duration, stats statsParameter: String,
                 _ body: @escaping @Sendable (PromQLEngine, PromQLCancellation, PromQLQueryStats?) throws(PromQLError) -> PromQLResult) async -> APIResponse {
        let sampleStats = statsParameter.isEmpty ? nil
            : PromQLQueryStats(perStep: configuration.enablePerStepStats && statsParameter == "all")
        let clock = ContinuousClock()
        let began = clock.now
        guard await gate.acquire(timeout: limit) else {
            if Task.isCancelled { return .error(.canceled, "query was canceled in query queue") }
            return .error(.timeout, "query timed out in query queue")
        }
        defer { gate.release() }
        let queued = clock.now - began
        let remaining = limit - queued
        if remaining <= .zero { return .error(.timeout, "query timed out in query queue") }
        let engine = engine(timeout: remaining)
        let cancellation = PromQLCancellation()
        return await withTaskCancellationHandler {
            await runBlocking { () -> APIResponse in
                let evalStart = clock.now
                let result: PromQLResult
                do throws(PromQLError) { result = try body(engine, cancellation, sampleStats) } catch {
                    return .error(APIErrorType(error.kind), error.message)
                }
                let evalTime = clock.now - evalStart
                var stats: ResultJSON.Stats? = nil
                if let sampleStats {
                    var t = QueryTimings()
                    t.evalTotal = evalTime.seconds
                    t.innerEval = evalTime.seconds
                    t.execQueue = queued.seconds
                    t.execTotal = (clock.now - began).seconds
                    stats = ResultJSON.Stats(timings: t, samples: sampleStats)
                }
                return .success { w in
                    ResultJSON.write(result, stats: stats, to: &w)
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    func queryExemplars(_ form: FormValues) -> APIResponse {
        let start: GoTime, end: GoTime
        do { start = try TimeParsing.parseTimeParam(form, "start", default: .minTime) } catch { return .invalidParameter("start", error.text) }
        do { end = try TimeParsing.parseTimeParam(form, "end", default: .maxTime) } catch { return .invalidParameter("end", error.text) }
        if end.seconds < start.seconds || (end.seconds == start.seconds && end.nanoseconds < start.nanoseconds) {
            return .error(.badData, "end timestamp must not be before start timestamp")
        }
        let expr: Expr
        do { expr = try PromQLParser.parse(form.first("query")) } catch { return .error(.badData, error.description) }
        // No exemplar storage: an expression without selectors answers 204, others nothing.
        if !Self.hasSelector(expr) { return .noContent }
        return .success { $0.raw("[]") }
    }

    static func hasSelector(_ e: Expr) -> Bool {
        switch e {
        case .number, .string: return false
        case .vectorSelector: return true
        case .matrixSelector(let inner, _), .subquery(let inner, _, _, _, _), .unary(_, let inner), .paren(let inner):
            return hasSelector(inner)
        case let .binary(_, l, r, _, _): return hasSelector(l) || hasSelector(r)
        case let .aggregate(_, inner, parameter, _, _): return hasSelector(inner) || (parameter.map(hasSelector) ?? false)
        case let .call(_, args): return args.contains(where: hasSelector)
        }
    }

    func formatQuery(_ form: FormValues) -> APIResponse {
        switch parseQuery(form.first("query")) {
        case .success(let e): return .success { $0.string(e.description) }
        case .failure(let r): return r
        }
    }

    func metadata(_ form: FormValues) -> APIResponse {
        let limit = form.first("limit")
        if !limit.isEmpty, Int(limit) == nil { return .error(.badData, "limit must be a number") }
        return .success { $0.raw("{}") }
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
