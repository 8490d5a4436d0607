import Foundation
import Testing
import PromQL
import TSDB
import TSDBTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Our engine against a real Prometheus 2.42 on the same blocks, over Fixtures/corpus.txt.
///
/// The data is `tsdb-bench promql-data` (built next to this test bundle): 300-odd series over
/// 6 h, written as blocks by our writer. Prometheus runs on a copy; our engine opens the
/// original read-only. Each corpus query must give the same result type, label sets, values
/// (within 1e-6 relative; NaN equals NaN) and timestamps on both sides, or fail on both.
/// Without /usr/bin/prometheus the live test is reported as skipped, with the reason.
@Suite(.heavy) struct DifferentialTests {
    static let fixtures = String(#filePath.dropLast("DifferentialTests.swift".count)) + "Fixtures/"
    static let start: Int64 = 1_699_999_200_000
    static let hours = 6
    static var end: Int64 { start + Int64(hours) * 3_600_000 }

    static func corpus() throws -> [PromQLQueryLine] {
        let text = try String(contentsOfFile: fixtures + "corpus.txt", encoding: .utf8)
        return try PromQLQueryLine.parseFile(text, start: start, end: end)
    }

    @Test func corpusIsWellFormed() throws {
        let queries = try Self.corpus()
        #expect(queries.count >= 500)
        #expect(queries.contains { if case .range = $0.kind { true } else { false } })
        for q in queries {
            #expect(throws: Never.self, "\(q)") { _ = try PromQLParser.parse(q.expr) }
        }
    }

    @Test(.enabled(if: access(PrometheusServer.binary, X_OK) == 0,
                   "prometheus 2.42 is not installed at /usr/bin/prometheus (apt-get install prometheus): differential test skipped"),
          .timeLimit(.minutes(20)))
    func agreesWithPrometheus() throws {
        let queries = try Self.corpus()
        let dir = try TemporaryDirectory("promql-differential")
        defer { dir.remove() }
        let data = dir.path + "/data"
        let copy = dir.path + "/prometheus-data"
        let began = Date()
        try Command.run(try Products.path("tsdb-bench"), [
            "promql-data", data, "--series", "300", "--hours", "\(Self.hours)", "--seed", "1", "--start", "\(Self.start)",
        ])
        try FileManager.default.copyItem(atPath: data, toPath: copy)
        let server = try PrometheusServer(dataDirectory: copy, workDirectory: dir.path)
        defer { server.stop() }
        let db = try DB.openReadOnly(directory: data)
        defer { try? db.close() }
        print("differential: data and server ready in \(String(format: "%.1f", Date().timeIntervalSince(began))) s (port \(server.port))")

        let engine = PromQLEngine(options: .init(timeout: .seconds(60)))
        var agreed = 0
        var failedBoth = 0
        var messageDiffers: [String] = []
        var disagreements: [String] = []
        for q in queries {
            let theirs = try Self.prometheus(server, q)
            let ours = Self.ours(engine, db, q)
            switch (ours, theirs) {
            case (.failure(let a), .failure(let b)):
                agreed += 1
                failedBoth += 1
                if a != b { messageDiffers.append("\(q)\n    ours:       \(a)\n    prometheus: \(b)") }
            case (.success(let a), .success(let b)):
                if let why = Self.difference(a, b, ordered: q.isOrdered) {
                    disagreements.append("\(q)\n    \(why)")
                } else {
                    agreed += 1
                }
            case (.failure(let a), .success(let b)):
                disagreements.append("\(q)\n    ours failed: \(a)\n    prometheus:  \(Self.summary(b))")
            case (.success(let a), .failure(let b)):
                disagreements.append("\(q)\n    ours:               \(Self.summary(a))\n    prometheus failed:  \(b)")
            }
        }
        var report = "differential: \(agreed) of \(queries.count) queries agree with Prometheus 2.42"
        report += " (\(failedBoth) fail on both sides, \(messageDiffers.count) of them with other words)"
        report += " in \(String(format: "%.1f", Date().timeIntervalSince(began))) s\n"
        for d in disagreements { report += "DISAGREE \(d)\n" }
        for m in messageDiffers { report += "ERROR TEXT \(m)\n" }
        // The whole report goes to a file; the output shows its start.
        let reportPath = NSTemporaryDirectory() + "promql-differential-report.txt"
        try? report.write(toFile: reportPath, atomically: true, encoding: .utf8)
        let lines = report.split(separator: "\n", omittingEmptySubsequences: false)
        print(lines.prefix(400).joined(separator: "\n"))
        if lines.count > 400 { print("… \(lines.count - 400) more lines in \(reportPath)") }
        let disagreeing = disagreements.count
        #expect(disagreeing == 0, "\(disagreeing) of \(queries.count) corpus queries disagree with Prometheus; report in \(reportPath)")
    }

    // MARK: - Results in one comparable shape

    /// A result reduced to what both sides say: type, series (labels sorted by name, points).
    struct Canonical {
        var type: String
        var series: [(labels: [String: String], points: [(t: Int64, v: Double)])]
        var text: String?
    }

    enum Outcome {
        case success(Canonical)
        case failure(String)
    }

    static func ours(_ engine: PromQLEngine, _ db: DB, _ q: PromQLQueryLine) -> Outcome {
        let result: PromQLResult
        do {
            switch q.kind {
            case .instant(let t): result = try engine.instantQuery(db, q.expr, at: t)
            case .range(let s, let e, let step): result = try engine.rangeQuery(db, q.expr, start: s, end: e, step: step)
            }
        } catch {
            // As the HTTP API words it: its errorType, then the message.
            let type = switch error.kind {
            case .parse: "bad_data"
            case .execution, .tooManySamples: "execution"
            case .timeout: "timeout"
            case .canceled: "canceled"
            case .storage: "internal"
            }
            return .failure("\(type): \(error.message)")
        }
        func dict(_ l: Labels) -> [String: String] {
            var d: [String: String] = [:]
            for label in l { d[label.name] = label.value }
            return d
        }
        switch result {
        case .vector(let v):
            return .success(Canonical(type: "vector", series: v.map { (dict($0.labels), [($0.timestamp, $0.value)]) }))
        case .matrix(let m):
            return .success(Canonical(type: "matrix", series: m.map { s in (dict(s.labels), s.points.map { ($0.timestamp, $0.value) }) }))
        case .scalar(let t, let v):
            return .success(Canonical(type: "scalar", series: [([:], [(t, v)])]))
        case .string(let t, let s):
            return .success(Canonical(type: "string", series: [([:], [(t, 0)])], text: s))
        }
    }

    static func prometheus(_ server: PrometheusServer, _ q: PromQLQueryLine) throws -> Outcome {
        let path: String
        switch q.kind {
        case .instant(let t):
            path = "/api/v1/query?query=\(PrometheusServer.encode(q.expr))&time=\(PromQLQueryLine.seconds(t))"
        case .range(let s, let e, let step):
            path = "/api/v1/query_range?query=\(PrometheusServer.encode(q.expr))&start=\(PromQLQueryLine.seconds(s))"
                + "&end=\(PromQLQueryLine.seconds(e))&step=\(PromQLQueryLine.seconds(step))"
        }
        let response = try server.get(path)
        let json = try JSONSerialization.jsonObject(with: Data(response.body))
        guard let top = json as? [String: Any], let status = top["status"] as? String else {
            throw PrometheusServer.Failure(description: "unexpected answer to \(q): \(String(decoding: response.body.prefix(500), as: UTF8.self))")
        }
        if status != "success" {
            // A parse error comes wrapped as the `query` parameter's fault.
            var message = top["error"] as? String ?? "?"
            let wrapper = "invalid parameter \"query\": "
            if message.hasPrefix(wrapper) { message.removeFirst(wrapper.count) }
            return .failure("\(top["errorType"] as? String ?? "?"): \(message)")
        }
        guard let data = top["data"] as? [String: Any], let type = data["resultType"] as? String, let result = data["result"] else {
            throw PrometheusServer.Failure(description: "no data in the answer to \(q)")
        }
        func point(_ any: Any?) throws -> (Int64, String) {
            guard let pair = any as? [Any], pair.count == 2, let t = (pair[0] as? NSNumber)?.doubleValue,
                  let v = pair[1] as? String else {
                throw PrometheusServer.Failure(description: "malformed point in the answer to \(q)")
            }
            return (Int64((t * 1000).rounded()), v)
        }
        func value(_ p: (Int64, String)) throws -> (t: Int64, v: Double) {
            guard let v = parseGoFloat(p.1) else { throw PrometheusServer.Failure(description: "bad value \(p.1) for \(q)") }
            return (p.0, v)
        }
        switch type {
        case "vector", "matrix":
            guard let list = result as? [[String: Any]] else { throw PrometheusServer.Failure(description: "bad result list for \(q)") }
            var series: [(labels: [String: String], points: [(t: Int64, v: Double)])] = []
            for s in list {
                let labels = s["metric"] as? [String: String] ?? [:]
                if type == "vector" {
                    series.append((labels, [try value(try point(s["value"]))]))
                } else {
                    let values = s["values"] as? [Any] ?? []
                    series.append((labels, try values.map { try value(try point($0)) }))
                }
            }
            return .success(Canonical(type: type, series: series))
        case "scalar":
            return .success(Canonical(type: type, series: [([:], [try value(try point(result))])]))
        case "string":
            let p = try point(result)
            return .success(Canonical(type: type, series: [([:], [(p.0, 0)])], text: p.1))
        default:
            throw PrometheusServer.Failure(description: "unknown result type \(type) for \(q)")
        }
    }

    /// Go's float text as the API writes it: "NaN", "+Inf", "-Inf" or strconv 'f'/'e' form.
    static func parseGoFloat(_ s: String) -> Double? {
        switch s {
        case "NaN": .nan
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        default: Double(s)
        }
    }

    // MARK: - Comparison

    static func sameValue(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        if a == b { return true }
        if a.isInfinite || b.isInfinite { return false }
        let diff = abs(a - b)
        return diff <= 1e-6 * max(abs(a), abs(b)) || diff <= 1e-12
    }

    static func key(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ", ") + "}"
    }

    /// Why two results differ, or nil when they agree.
    static func difference(_ ours: Canonical, _ theirs: Canonical, ordered: Bool) -> String? {
        guard ours.type == theirs.type else {
            return "result type: ours \(ours.type), prometheus \(theirs.type)"
        }
        if ours.text != theirs.text { return "string: ours \(ours.text ?? "-"), prometheus \(theirs.text ?? "-")" }
        var a = ours.series.map { (key($0.labels), $0.points) }
        var b = theirs.series.map { (key($0.labels), $0.points) }
        if !ordered {
            a.sort { $0.0 < $1.0 }
            b.sort { $0.0 < $1.0 }
        }
        let aKeys = a.map(\.0), bKeys = b.map(\.0)
        if aKeys != bKeys {
            let onlyOurs = Set(aKeys).subtracting(bKeys).sorted().prefix(5)
            let onlyTheirs = Set(bKeys).subtracting(aKeys).sorted().prefix(5)
            if onlyOurs.isEmpty && onlyTheirs.isEmpty && aKeys.count == bKeys.count {
                return "order: ours \(aKeys.prefix(5)), prometheus \(bKeys.prefix(5))"
            }
            return "series: \(a.count) ours, \(b.count) prometheus; only ours \(Array(onlyOurs)), only prometheus \(Array(onlyTheirs))"
        }
        for (x, y) in zip(a, b) {
            if x.1.count != y.1.count {
                let ta = Set(x.1.map(\.t)), tb = Set(y.1.map(\.t))
                return "\(x.0): \(x.1.count) points ours, \(y.1.count) prometheus; only ours at \(ta.subtracting(tb).sorted().prefix(4)), only prometheus at \(tb.subtracting(ta).sorted().prefix(4))"
            }
            for (p, r) in zip(x.1, y.1) where p.t != r.t || !sameValue(p.v, r.v) {
                return "\(x.0) at \(r.t): ours \(p.t) \(p.v), prometheus \(r.t) \(r.v)"
            }
        }
        return nil
    }

    static func summary(_ c: Canonical) -> String {
        if let t = c.text { return "string \(t)" }
        let first = c.series.first.map { "\(key($0.labels)) \($0.points.prefix(2).map { "\($0.v)@\($0.t)" })" } ?? "empty"
        return "\(c.type) of \(c.series.count) series, first \(first)"
    }
}
