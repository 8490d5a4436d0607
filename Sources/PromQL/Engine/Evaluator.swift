import TSDB

/// Evaluates an expression over a grid of steps, node by node, as Prometheus 2.42's
/// `evaluator` does: every instant-vector node yields its series over all steps, so an
/// instant query is the one-step case of a range query.
final class Evaluator {
    let storage: any PromQLQueryable
    let options: PromQLEngine.Options
    let grid: Grid
    /// The top-level query's start and end, what `@ start()` and `@ end()` mean at any depth.
    let queryStart: Int64
    let queryEnd: Int64
    let lookback: Int64
    let deadline: ContinuousClock.Instant
    let cancellation: PromQLCancellation?
    /// Points held by results so far, against `maxSamples`.
    var samples: Int
    /// The query's stats, for the peak of `samples`; shared with subqueries' evaluators.
    let stats: PromQLQueryStats?
    /// Where the samples selectors read are counted; nil where Prometheus does not count them.
    let counter: SampleCounter?
    private var checks = 0

    init(storage: any PromQLQueryable, options: PromQLEngine.Options, grid: Grid, queryStart: Int64, queryEnd: Int64,
         deadline: ContinuousClock.Instant, cancellation: PromQLCancellation?, samples: Int = 0,
         stats: PromQLQueryStats?, counter: SampleCounter?) {
        self.storage = storage
        self.options = options
        self.grid = grid
        self.queryStart = queryStart
        self.queryEnd = queryEnd
        let l = options.lookbackDelta.components
        self.lookback = max(1, l.seconds &* 1000 &+ l.attoseconds / 1_000_000_000_000_000)
        self.deadline = deadline
        self.cancellation = cancellation
        self.samples = samples
        self.stats = stats
        self.counter = counter
    }

    /// An evaluator for a subquery's own grid, counting what it reads into `counter`.
    func child(grid: Grid, counter: SampleCounter?) -> Evaluator {
        Evaluator(storage: storage, options: options, grid: grid, queryStart: queryStart, queryEnd: queryEnd,
                  deadline: deadline, cancellation: cancellation, samples: samples, stats: stats, counter: counter)
    }

    /// Fails with `.timeout` or `.canceled` once the query may no longer run.
    func checkInterrupt() throws(PromQLError) {
        checks &+= 1
        guard checks & 63 == 0 else { return }
        if cancellation?.isCancelled == true { throw PromQLError(.canceled, "query was canceled in query execution") }
        if ContinuousClock.now > deadline { throw PromQLError(.timeout, "query timed out in query execution") }
    }

    /// ``checkInterrupt()`` for code running on several threads: reads, never writes.
    func checkDeadline() throws(PromQLError) {
        if cancellation?.isCancelled == true { throw PromQLError(.canceled, "query was canceled in query execution") }
        if ContinuousClock.now > deadline { throw PromQLError(.timeout, "query timed out in query execution") }
    }

    /// Accounts for `n` more points held; fails past `maxSamples` before they are kept.
    func hold(_ n: Int) throws(PromQLError) {
        samples &+= n
        if samples > options.maxSamples { throw PromQLError.tooManySamples() }
        stats?.updatePeak(samples)
    }

    func release(_ n: Int) { samples &-= n }

    /// The whole query: evaluates and converts to the API's result types.
    func run(_ expr: Expr, instant: Bool) throws(PromQLError) -> PromQLResult {
        if cancellation?.isCancelled == true { throw PromQLError(.canceled, "query was canceled in query execution") }
        let value = try eval(expr)
        switch value {
        case .string(let s): return .string(timestamp: grid.start, value: s)
        case .matrix(let m): return .matrix(m)
        case .scalar(let values):
            if instant { return .scalar(timestamp: grid.start, value: values.first ?? .nan) }
            let points = values.indices.map { Sample(timestamp: grid.time($0), value: values[$0]) }
            return .matrix([PromQLSeries(labels: .empty, points: points)])
        case .vector(let series):
            if instant {
                return .vector(series.compactMap { s in
                    s.points.first.map { PromQLSample(labels: s.labels, timestamp: grid.start, value: $0.value) }
                })
            }
            var out = series.filter { !$0.points.isEmpty }.map { s in
                PromQLSeries(labels: s.labels, points: s.points.map { Sample(timestamp: grid.time($0.step), value: $0.value) })
            }
            out.sort { $0.labels < $1.labels }
            return .matrix(out)
        }
    }

    func eval(_ expr: Expr) throws(PromQLError) -> EvalValue {
        try checkInterrupt()
        switch expr {
        case .number(let v):
            return .scalar([Double](repeating: v, count: grid.count))
        case .string(let s):
            return .string(s)
        case .paren(let inner):
            return try eval(inner)
        case let .vectorSelector(_, matchers, offset, at):
            return .vector(try vectorSelector(matchers, offset: offset, at: at, timestampValues: false))
        case let .matrixSelector(inner, range):
            guard case let .vectorSelector(_, matchers, offset, at) = inner else {
                throw PromQLError(.execution, "unexpected range selector over \(inner)")
            }
            guard grid.count == 1 else {
                throw PromQLError(.execution, "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")
            }
            let windows = try loadWindows(matchers, range: range, offset: offset, at: at)
            let m = try windows.rawMatrix(step: 0)
            let n = m.reduce(0) { $0 + $1.points.count }
            try hold(n)
            counter?.add(Int64(n), atStep: 0)
            return .matrix(m)
        case let .subquery(inner, range, step, offset, at):
            guard grid.count == 1 else {
                throw PromQLError(.execution, "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")
            }
            // Prometheus counts what the subquery's expression read, not the points it returns.
            let tally = counter.map { _ in SampleCounter() }
            let windows = try subqueryWindows(inner, range: range, step: step, offset: offset, at: at, counter: tally)
            if let tally { counter?.add(tally.total, atStep: 0) }
            let m = try windows.rawMatrix(step: 0)
            try hold(m.reduce(0) { $0 + $1.points.count })
            return .matrix(m)
        case let .unary(negative, inner):
            let v = try eval(inner)
            guard negative else { return v }
            switch v {
            case .scalar(let values): return .scalar(values.map { -$0 })
            case .vector(var series):
                for i in series.indices {
                    series[i].labels = series[i].labels.droppingMetricName
                    for j in series[i].points.indices { series[i].points[j].value = -series[i].points[j].value }
                }
                try StepSeriesOps.checkUniqueLabels(series)
                return .vector(series)
            default:
                throw PromQLError(.execution, "unary minus over \(inner) is not an instant vector or scalar")
            }
        case let .binary(op, lhs, rhs, matching, returnBool):
            return try binary(op, lhs, rhs, matching: matching, returnBool: returnBool)
        case let .aggregate(op, inner, parameter, grouping, without):
            return try aggregate(op, inner, parameter: parameter, grouping: grouping, without: without)
        case let .call(f, args):
            return try call(f, args)
        }
    }

    /// Evaluates an expression the type checker says is a scalar, to one value per step.
    func scalarValues(_ expr: Expr) throws(PromQLError) -> [Double] {
        guard case .scalar(let v) = try eval(expr) else {
            throw PromQLError(.execution, "expected a scalar, got \(expr)")
        }
        return v
    }

    /// Evaluates an expression the type checker says is an instant vector.
    func vectorValue(_ expr: Expr) throws(PromQLError) -> [StepSeries] {
        guard case .vector(let v) = try eval(expr) else {
            throw PromQLError(.execution, "expected an instant vector, got \(expr)")
        }
        return v
    }

    func stringValue(_ expr: Expr) throws(PromQLError) -> String {
        guard case .string(let s) = try eval(expr) else {
            throw PromQLError(.execution, "expected a string, got \(expr)")
        }
        return s
    }

    /// The time an `@` modifier pins a selector to, if any.
    func pinnedTime(_ at: AtModifier?) -> Int64? {
        switch at {
        case .timestamp(let ms)?: ms
        case .start?: queryStart
        case .end?: queryEnd
        case nil: nil
        }
    }
}
