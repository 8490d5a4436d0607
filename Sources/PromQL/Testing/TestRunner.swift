import Exposition
import TSDB

#if canImport(Glibc)
import Glibc
#endif

/// Runs ``PromQLTestScript``s against a real ``DB`` in a temporary directory, checking each
/// eval as Prometheus 2.42's `promql/test.go` does:
///
/// - the query at its time; its result against the expected lines (values within a relative
///   error of 1e-6, NaN equal to NaN, labels exactly, order only for `eval_ordered`), or an
///   error for `eval_fail`;
/// - the same query with `@ <eval time>` added to every selector and subquery that has none
///   (not inside subqueries; skipped when the query calls `time()`, `timestamp()`,
///   `predict_linear()` or a date function), at the times -10t, 0, t/5, t and 10t
///   (-1s, 0 and 1s when t is 0);
/// - every one of those also as a range query from t - 1m to t + 1m with a 1m step, whose
///   point at t must match too (not for `eval_ordered`).
///
/// Unlike Prometheus, a failing eval does not stop the file: every eval is counted.
package struct PromQLTestRunner {
    /// The options of Prometheus's test engine: 5m lookback, at most 10,000 samples.
    package var engineOptions = PromQLEngine.Options(maxSamples: 10_000, timeout: .seconds(100))
    /// Where the temporary databases go; `$TMPDIR` or `/tmp` by default.
    package var temporaryDirectory: String

    package init() {
        if let p = getenv("TMPDIR"), let s = String(validatingCString: p), !s.isEmpty { temporaryDirectory = s }
        else { temporaryDirectory = "/tmp" }
    }

    /// One failed eval (or load, or unparsable line).
    package struct Failure: Sendable, CustomStringConvertible {
        package var file: String
        package var line: Int
        package var message: String
        package var description: String { "\(file):\(line): \(message)" }
    }

    package struct Report: Sendable {
        package var passed = 0
        package var failures: [Failure] = []
        package var failed: Int { failures.count }
        package init(passed: Int = 0, failures: [Failure] = []) {
            self.passed = passed
            self.failures = failures
        }
        package mutating func add(_ other: Report) {
            passed += other.passed
            failures += other.failures
        }
    }

    /// Reads and runs one file; an unreadable file is one failure.
    package func run(file path: String) -> Report {
        switch readTextFile(path) {
        case .success(let text): return run(PromQLTestScript.parse(text, file: path))
        case .failure(let error):
            return Report(passed: 0, failures: [Failure(file: path, line: 0, message: error.message)])
        }
    }

    /// Runs a parsed script: every unparsable line is a failure, then the commands in order.
    package func run(_ script: PromQLTestScript) -> Report {
        var report = Report()
        for d in script.diagnostics { report.failures.append(Failure(file: script.file, line: d.line, message: d.message)) }
        var storage: TestStorage?
        defer { storage?.close() }
        func fresh() -> TestStorage? {
            storage?.close()
            storage = nil
            do { return try TestStorage(parent: temporaryDirectory) } catch {
                report.failures.append(Failure(file: script.file, line: 0, message: "cannot create a test database: \(error.message)"))
                return nil
            }
        }
        storage = fresh()
        for command in script.commands {
            switch command {
            case .clear:
                storage = fresh()
            case .load(let load):
                guard let db = storage?.db else { continue }
                if let message = Self.append(load, to: db) {
                    report.failures.append(Failure(file: script.file, line: load.line, message: message))
                }
            case .eval(let eval):
                guard let db = storage?.db else {
                    report.failures.append(Failure(file: script.file, line: eval.line, message: "no database to query"))
                    continue
                }
                if let message = check(eval, on: db) {
                    report.failures.append(Failure(file: script.file, line: eval.line, message: message))
                } else {
                    report.passed += 1
                }
            }
        }
        return report
    }

    /// Appends a load in one transaction, as Prometheus does; the message of the first
    /// rejected sample, or nil.
    static func append(_ load: PromQLTestScript.Load, to db: DB) -> String? {
        do throws(TSDBError) {
            var app = try db.appender()
            for series in load.series {
                let labels: Labels
                do { labels = try Labels(validating: series.labels) } catch {
                    app.rollback()
                    return "load: series on line \(series.line): \(error.message)"
                }
                var ref: SeriesRef?
                for s in series.samples {
                    do {
                        if let r = ref { try app.append(r, timestamp: s.timestamp, value: s.value) }
                        else { ref = try app.append(labels, timestamp: s.timestamp, value: s.value) }
                    } catch {
                        app.rollback()
                        return "load: series on line \(series.line) at \(s.timestamp) ms: \(error.message)"
                    }
                }
            }
            try app.commit()
            return nil
        } catch {
            return "load: \(error.message)"
        }
    }

    // MARK: - Evaluation

    /// nil when the eval passes, else why not.
    func check(_ eval: PromQLTestScript.Eval, on db: DB) -> String? {
        guard let expr = eval.expr else {
            return "cannot parse query \(goQuote(eval.query)): \(eval.parseError ?? "unknown error")"
        }
        let engine = PromQLEngine(options: engineOptions)
        var cases = [(expr, eval.time)]
        cases += Self.atModifierCases(expr, evalTime: eval.time)
        for (query, time) in cases {
            let shown = "\(goQuote(query.description)) at \(Self.seconds(time))"
            let result: PromQLResult
            do { result = try engine.instantQuery(db, query, at: time) } catch {
                if eval.mode == .fail { continue }
                return "error evaluating query \(shown): \(error.message)"
            }
            if eval.mode == .fail { return "expected error evaluating query \(shown) but got none" }
            if let problem = Self.compare(result, eval.expected, ordered: eval.mode == .ordered) {
                return "query \(shown): \(problem)"
            }
            let range: PromQLResult
            do {
                range = try engine.rangeQuery(db, query, start: time &- 60_000, end: time &+ 60_000, step: 60_000)
            } catch {
                return "error evaluating query \(shown) in range mode: \(error.message)"
            }
            if eval.mode == .ordered { continue }
            guard case .matrix(let matrix) = range else {
                return "query \(shown) in range mode: got a \(range.typeName), not a matrix"
            }
            var vector: [PromQLSample] = []
            for series in matrix {
                if let p = series.points.first(where: { $0.timestamp == time }) {
                    vector.append(PromQLSample(labels: series.labels, timestamp: p.timestamp, value: p.value))
                }
            }
            let asInstant: PromQLResult
            if case .scalar = result {
                guard let first = vector.first else { return "query \(shown) in range mode: no point at the eval time" }
                asInstant = .scalar(timestamp: time, value: first.value)
            } else {
                asInstant = .vector(vector)
            }
            if let problem = Self.compare(asInstant, eval.expected, ordered: false) {
                return "query \(shown) in range mode: \(problem)"
            }
        }
        return nil
    }

    /// test.go's `compareResult`: nil when `result` is what is expected.
    static func compare(_ result: PromQLResult, _ expected: PromQLTestScript.Expected, ordered: Bool) -> String? {
        switch result {
        case .matrix: return "received range result on instant evaluation"
        case .string(_, let s): return "unexpected string result \(goQuote(s))"
        case .scalar(_, let v):
            guard let want = expected.scalar else {
                return expected.samples.isEmpty
                    ? "expected an empty vector but got scalar \(GoFormat.float(v))"
                    : "expected a vector but got scalar \(GoFormat.float(v))"
            }
            if !almostEqual(want, v) { return "expected scalar \(GoFormat.float(want)) but got \(GoFormat.float(v))" }
            return nil
        case .vector(let vector):
            var seen = Set<[Label]>()
            for (pos, s) in vector.enumerated() {
                let key = Array(s.labels)
                guard let exp = expected.samples[key] else {
                    return "unexpected metric \(describe(key)) in result (value \(GoFormat.float(s.value)))"
                }
                if ordered && exp.position != pos + 1 {
                    return "expected metric \(describe(key)) with \(exp.value.map(GoFormat.float) ?? "no value") at position \(exp.position) but was at \(pos + 1)"
                }
                guard let want = exp.value else { return "no expected value for \(describe(key)) (line \(exp.line))" }
                if !almostEqual(want, s.value) {
                    return "expected \(GoFormat.float(want)) for \(describe(key)) but got \(GoFormat.float(s.value))"
                }
                seen.insert(key)
            }
            for (key, exp) in expected.samples.sorted(by: { $0.value.line < $1.value.line }) where !seen.contains(key) {
                return "expected metric \(describe(key)) with \(exp.value.map(GoFormat.float) ?? "no value") not found (got \(vector.count) samples)"
            }
            if let want = expected.scalar { return "expected scalar \(GoFormat.float(want)) but got a vector" }
            return nil
        }
    }

    /// Prometheus's `{__name__="x", a="b"}` form of a label set.
    static func describe(_ labels: [Label]) -> String {
        "{" + labels.map { "\($0.name)=\(goQuote($0.value))" }.joined(separator: ", ") + "}"
    }

    static func seconds(_ ms: Int64) -> String {
        let a = ms.magnitude
        let frac = String(a % 1000)
        return (ms < 0 ? "-" : "") + "\(a / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac + "s"
    }

    /// The smallest positive normal Double, as test.go's `minNormal`.
    static let minNormal = Double(bitPattern: 0x0010_0000_0000_0000)

    /// test.go's `almostEqual`: NaN equals NaN; relative error below 1e-6, or near zero an
    /// absolute error below 1e-6 × the smallest normal number.
    package static func almostEqual(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN && b.isNaN { return true }
        if a == b { return true }
        let diff = Swift.abs(a - b)
        if a == 0 || b == 0 || diff < minNormal { return diff < 0.000001 * minNormal }
        return diff / (Swift.abs(a) + Swift.abs(b)) < 0.000001
    }

    // MARK: - @ modifier cases

    /// Functions whose result depends on the evaluation time even when their arguments do
    /// not (Prometheus's `AtModifierUnsafeFunctions`).
    static let atModifierUnsafeFunctions: Set<String> = [
        "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year",
        "predict_linear", "time", "timestamp",
    ]

    /// test.go's `atModifierTestCases`: the query with `@ evalTime` on every selector and
    /// subquery without a timestamp, at five other times; none when it calls an unsafe function.
    package static func atModifierCases(_ expr: Expr, evalTime ts: Int64) -> [(Expr, Int64)] {
        var unsafe = false
        let modified = withAt(expr, ts, unsafe: &unsafe)
        if unsafe { return [] }
        let times: [Int64] = ts == 0 ? [-1000, 0, 1000] : [ts &* -10, 0, ts / 5, ts, ts &* 10]
        return times.map { (modified, $0) }
    }

    /// Sets `@ ts` where the selector or subquery has no timestamp (`@ start()` and `@ end()`
    /// count as none, as Prometheus's parser stores them apart); does not enter subqueries.
    static func withAt(_ e: Expr, _ ts: Int64, unsafe: inout Bool) -> Expr {
        func fixed(_ at: AtModifier?) -> AtModifier {
            if case .timestamp? = at, let at { return at }
            return .timestamp(milliseconds: ts)
        }
        switch e {
        case .number, .string: return e
        case let .vectorSelector(name, matchers, offset, at):
            return .vectorSelector(name: name, matchers: matchers, offset: offset, at: fixed(at))
        case let .matrixSelector(inner, range):
            return .matrixSelector(withAt(inner, ts, unsafe: &unsafe), range: range)
        case let .subquery(inner, range, step, offset, at):
            return .subquery(inner, range: range, step: step, offset: offset, at: fixed(at))
        case let .unary(negative, inner):
            return .unary(negative: negative, withAt(inner, ts, unsafe: &unsafe))
        case let .binary(op, lhs, rhs, matching, returnBool):
            let l = withAt(lhs, ts, unsafe: &unsafe)
            let r = withAt(rhs, ts, unsafe: &unsafe)
            return .binary(op, l, r, matching: matching, returnBool: returnBool)
        case let .aggregate(op, inner, parameter, grouping, without):
            let p = parameter.map { withAt($0, ts, unsafe: &unsafe) }
            return .aggregate(op: op, withAt(inner, ts, unsafe: &unsafe), parameter: p, grouping: grouping, without: without)
        case let .call(f, args):
            if atModifierUnsafeFunctions.contains(f.name) { unsafe = true }
            var out: [Expr] = []
            for a in args { out.append(withAt(a, ts, unsafe: &unsafe)) }
            return .call(f, out)
        case .paren(let inner):
            return .paren(withAt(inner, ts, unsafe: &unsafe))
        }
    }
}

/// A database in a fresh temporary directory, removed on `close()`. Its options take any
/// timestamp a test file can make: no future limit, no compaction, and a head window
/// (half the block range) of over 17 years, so loads far apart in time all go in.
final class TestStorage {
    let directory: String
    let db: DB

    init(parent: String) throws(TSDBError) {
        var template = Array((parent + "/promql-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buf -> Bool in
            guard let base = buf.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw TSDBError(.io, "mkdtemp in \(parent) failed (errno \(errno))") }
        directory = template.withUnsafeBufferPointer { buf in
            String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        var options = Options()
        options.compactionEnabled = false
        options.maxFutureSkew = nil
        options.blockRange = 1 << 40
        options.maxBlockDuration = 1 << 40
        options.walSegmentSize = 1 << 20
        do { db = try DB.open(directory: directory, options: options) } catch {
            try? FileSystem.removeAll(directory, sys: .system)
            throw error
        }
    }

    func close() {
        try? db.close()
        try? FileSystem.removeAll(directory, sys: .system)
    }
}

/// The whole file as UTF-8 text (invalid bytes replaced).
func readTextFile(_ path: String) -> Result<String, TSDBError> {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return .failure(TSDBError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")) }
    defer { _ = Glibc.close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return .failure(TSDBError(.io, "cannot read \(path): \(String(cString: strerror(errno)))"))
        }
        if n == 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return .success(String(decoding: bytes, as: UTF8.self))
}
