import Foundation
import Testing
import TSDB
import TSDBTestSupport

/// The same requests to `tsdb-server` and to Debian's Prometheus 2.42 on copies of one data
/// directory; the answers must agree after normalising key and series order (floats within
/// 1e-6 relative).
enum Corpus {
    static let t = "1700000000"
    static func q(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? s
    }

    static var requests: [String] {
        var r: [String] = []
        let instant = [
            "up", #"up{job="api"}"#, #"http_requests_total{code="500"}"#, "rate(http_requests_total[5m])",
            "sum by (job) (rate(http_requests_total[5m]))", "topk(2, http_requests_total)",
            "avg_over_time(node_temperature_celsius[10m])", "1.5", #""hello""#, "time()", "vector(1)",
            #"scalar(up{instance="a:9100",job="api"})"#, "up[5m]", "tiny_value", "sparse_metric", "sparse_metric[1h]",
            "nonexistent_metric", #"label_replace(up, "foo", "$1", "instance", "(.*):.*")"#,
            #"count by (__name__) ({__name__=~".+"})"#, "absent(nonexistent)", "-up", "up == 0", "1 / 0", "-1 / 0", "0 / 0",
            "http_requests_total / ignoring(code) group_left sum without (code) (http_requests_total)",
            "max_over_time(tiny_value[1h]) * 1e30",
            // Errors.
            "sum(", "up{", "foo bar", "", "rate(up)", "up[5m] + 1", #"{job=~".*"}"#,
        ]
        for e in instant {
            r.append("/api/v1/query?query=\(q(e))&time=\(t)")
        }
        r.append("/api/v1/query?query=up&time=1699996399.5")
        r.append("/api/v1/query?query=up&time=2023-11-14T22:13:20.123Z")
        r.append("/api/v1/query?query=up&time=abc")
        r.append("/api/v1/query?query=up&time=\(t)&timeout=abc")
        r.append("/api/v1/query?query=up&time=\(t)&timeout=1m")
        let range = ["up", "rate(http_requests_total[5m])", "sum by (job) (rate(http_requests_total[5m]))", "1", "time()",
                     "sparse_metric", "tiny_value", #""str""#, "up[5m]", "sum("]
        for e in range {
            r.append("/api/v1/query_range?query=\(q(e))&start=1699990000&end=\(t)&step=60")
        }
        r.append("/api/v1/query_range?query=up&start=1699999000&end=\(t)&step=15s")
        r.append("/api/v1/query_range?query=up&start=1699980000.5&end=\(t)&step=1h")
        r.append("/api/v1/query_range?query=up&start=2023-11-14T21:00:00Z&end=2023-11-14T22:13:20Z&step=5m")
        r.append("/api/v1/query_range?query=up&start=\(t)&end=1699990000&step=60")
        r.append("/api/v1/query_range?query=up&start=1699990000&end=\(t)&step=0")
        r.append("/api/v1/query_range?query=up&start=1699990000&end=\(t)&step=-5")
        r.append("/api/v1/query_range?query=up&start=0&end=\(t)&step=1")
        r.append("/api/v1/query_range?query=up&end=\(t)&step=60")
        r.append("/api/v1/query_range?query=up&start=1699990000&end=\(t)")
        r.append("/api/v1/query_range?query=up&start=1699990000&end=\(t)&step=1e400")
        let matchers = [#"up"#, #"{__name__=~"http_.*",code="200"}"#, "nonexistent", "up{"]
        for m in matchers {
            r.append("/api/v1/series?match[]=\(q(m))")
            r.append("/api/v1/labels?match[]=\(q(m))")
            r.append("/api/v1/label/instance/values?match[]=\(q(m))")
        }
        r.append("/api/v1/series?match[]=up&match[]=\(q(#"http_requests_total{code="200"}"#))")
        r.append("/api/v1/series?match[]=up&start=1699999000&end=\(t)")
        r.append("/api/v1/series?match[]=\(q(#"{job=~".*"}"#))")
        r.append("/api/v1/series")
        r.append("/api/v1/series?match[]=up&start=abc")
        r.append("/api/v1/labels")
        r.append("/api/v1/labels?start=1699999000&end=\(t)")
        r.append("/api/v1/labels?match[]=\(q(#"{job=~".*"}"#))")
        for name in ["job", "__name__", "sensor", "nonexistent", "not-a-name", "1abc"] {
            r.append("/api/v1/label/\(name)/values")
        }
        r.append("/api/v1/metadata")
        r.append("/api/v1/metadata?limit=x")
        r.append("/api/v1/query_exemplars?query=up")
        r.append("/api/v1/query_exemplars?query=sum(")
        r.append("/api/v1/query_exemplars?query=up&start=10&end=1")
        return r
    }

    static let posts: [(String, String)] = [
        ("/api/v1/query", "query=up&time=\(t)"),
        ("/api/v1/query_range", "query=rate(http_requests_total%5B5m%5D)&start=1699990000&end=\(t)&step=300"),
        ("/api/v1/series", "match[]=up&start=1699990000"),
        ("/api/v1/series", "match[]=up&bad=%zz"),
        ("/api/v1/labels", "match[]=up"),
        ("/api/v1/admin/tsdb/delete_series", "match[]=up"),
        ("/api/v1/admin/tsdb/clean_tombstones", ""),
        ("/api/v1/admin/tsdb/snapshot", ""),
    ]
}

/// Compares two decoded JSON values, collecting differences.
struct JSONComparer {
    var differences: [String] = []

    mutating func compare(_ a: Any?, _ b: Any?, _ path: String) {
        switch (a, b) {
        case let (x as [String: Any], y as [String: Any]):
            if Set(x.keys) != Set(y.keys) {
                differences.append("\(path): keys \(x.keys.sorted()) vs \(y.keys.sorted())")
                return
            }
            for k in x.keys.sorted() { compare(x[k], y[k], path + "." + k) }
        case let (x as [Any], y as [Any]):
            guard x.count == y.count else {
                differences.append("\(path): \(x.count) elements vs \(y.count): \(Self.text(x).prefix(300)) vs \(Self.text(y).prefix(300))")
                return
            }
            let sx = Self.sortedIfObjects(x), sy = Self.sortedIfObjects(y)
            for i in 0..<sx.count { compare(sx[i], sy[i], "\(path)[\(i)]") }
        case let (x as String, y as String):
            if x == y { return }
            if let dx = Double(x), let dy = Double(y), Self.close(dx, dy) { return }
            differences.append("\(path): \(x.debugDescription) vs \(y.debugDescription)")
        case let (x as NSNumber, y as NSNumber):
            if !Self.close(x.doubleValue, y.doubleValue) { differences.append("\(path): \(x) vs \(y)") }
        case (nil, nil): return
        default:
            differences.append("\(path): \(String(describing: a)) vs \(String(describing: b))")
        }
    }

    static func close(_ a: Double, _ b: Double) -> Bool {
        if a == b || (a.isNaN && b.isNaN) { return true }
        return abs(a - b) <= 1e-6 * max(abs(a), abs(b))
    }

    /// Series and label sets in a stable order; other arrays keep theirs.
    static func sortedIfObjects(_ a: [Any]) -> [Any] {
        guard a.allSatisfy({ $0 is [String: Any] }) else { return a }
        return a.sorted { key($0) < key($1) }
    }

    static func key(_ v: Any) -> String {
        if let d = v as? [String: Any], let m = d["metric"] { return text(m) }
        return text(v)
    }

    static func text(_ v: Any) -> String {
        guard JSONSerialization.isValidJSONObject(v),
              let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]) else { return "\(v)" }
        return String(decoding: d, as: UTF8.self)
    }
}

@Suite(.blocking, .serialized) struct ComparisonTests {
    /// Both servers on copies of the fixture; `body` gets (ours, Prometheus's) base URLs.
    /// `perStepStats` turns on `promql-per-step-stats` in both.
    static func withBoth(perStepStats: Bool = false, _ body: (String, String) async throws -> Void) async throws {
        let work = try TemporaryDirectory("tsdb-server-compare")
        defer { work.remove() }
        try Fixture.copy(fixtureDirectory, to: work.path + "/ours")
        try Fixture.copy(fixtureDirectory, to: work.path + "/theirs")
        let prometheus = try PrometheusServer.start(directory: work.path + "/theirs", work: work.path,
                                                    arguments: perStepStats ? ["--enable-feature=promql-per-step-stats"] : [])
        defer { prometheus.stop() }
        let ours = try await InProcessServer.start(directory: work.path + "/ours") { $0.enablePerStepStats = perStepStats }
        do { try await body(ours.base, prometheus.base) } catch {
            await ours.stop()
            throw error
        }
        await ours.stop()
    }

    @Test(.enabled(if: PrometheusServer.isAvailable)) func sameAnswersAsPrometheus() async throws {
        try await Self.withBoth { ours, theirs in
            var comparer = JSONComparer()
            var exchanges: [(String, HTTP.Reply, HTTP.Reply)] = []
            for path in Corpus.requests {
                exchanges.append((path, try await HTTP.get(ours + path), try await HTTP.get(theirs + path)))
            }
            for (path, body) in Corpus.posts {
                exchanges.append(("POST " + path + " " + body, try await HTTP.post(ours + path, body: body), try await HTTP.post(theirs + path, body: body)))
            }
            for (what, a, b) in exchanges {
                if a.status != b.status { comparer.differences.append("\(what): status \(a.status) vs \(b.status): \(a.body.prefix(300)) vs \(b.body.prefix(300))") }
                let ja = try? JSONSerialization.jsonObject(with: Data(a.body.utf8), options: [.fragmentsAllowed])
                let jb = try? JSONSerialization.jsonObject(with: Data(b.body.utf8), options: [.fragmentsAllowed])
                if (ja == nil) != (jb == nil) {
                    comparer.differences.append("\(what): body \(a.body.prefix(200).debugDescription) vs \(b.body.prefix(200).debugDescription)")
                    continue
                }
                let before = comparer.differences.count
                comparer.compare(ja, jb, what)
                if comparer.differences.count > before, comparer.differences.count - before > 3 {
                    comparer.differences.removeLast(comparer.differences.count - before - 3)
                }
            }
            // Structure of the status pages (their values differ by nature).
            for path in ["/api/v1/status/buildinfo", "/api/v1/status/runtimeinfo"] {
                let a = try JSONSerialization.jsonObject(with: Data(try await HTTP.get(ours + path).body.utf8)) as? [String: Any]
                let b = try JSONSerialization.jsonObject(with: Data(try await HTTP.get(theirs + path).body.utf8)) as? [String: Any]
                let ka = (a?["data"] as? [String: Any]).map { Set($0.keys) }, kb = (b?["data"] as? [String: Any]).map { Set($0.keys) }
                if ka != kb { comparer.differences.append("\(path): keys \(String(describing: ka)) vs \(String(describing: kb))") }
            }
            // The head's statistics: the same replayed head on both sides.
            let ta = try JSONSerialization.jsonObject(with: Data(try await HTTP.get(ours + "/api/v1/status/tsdb").body.utf8)) as? [String: Any]
            let tb = try JSONSerialization.jsonObject(with: Data(try await HTTP.get(theirs + "/api/v1/status/tsdb").body.utf8)) as? [String: Any]
            let ha = (ta?["data"] as? [String: Any])?["headStats"], hb = (tb?["data"] as? [String: Any])?["headStats"]
            #expect(((ha as? [String: Any])?["chunkCount"] as? Int ?? 0) > 0, "\(String(describing: ha))")
            comparer.compare(ha, hb, "/api/v1/status/tsdb headStats")
            let diffs = comparer.differences
            let report = diffs.joined(separator: "\n")
            try? report.write(toFile: NSTemporaryDirectory() + "tsdb-server-compare-report.txt", atomically: true, encoding: .utf8)
            #expect(diffs.isEmpty, "\(diffs.count) differences:\n\(report)")
        }
    }

    @Test(.enabled(if: PrometheusServer.isAvailable && Promtool.isAvailable)) func promtoolAgreesOnBoth() async throws {
        try await Self.withBoth { ours, theirs in
            let commands: [[String]] = [
                ["query", "instant", "--time=\(Corpus.t)", "SERVER", #"up{job="api"}"#],
                ["query", "instant", "--time=\(Corpus.t)", "SERVER", "sum by (job) (rate(http_requests_total[5m]))"],
                ["query", "instant", "--time=\(Corpus.t)", "SERVER", "1.5"],
                ["query", "range", "--start=1699999000", "--end=\(Corpus.t)", "--step=60s", "SERVER", #"up{instance="c:9100"}"#],
                ["query", "series", "--match=up", "--start=1699990000", "--end=\(Corpus.t)", "SERVER"],
                ["query", "labels", "--start=1699990000", "--end=\(Corpus.t)", "SERVER", "job"],
                ["query", "labels", "--match=up", "--start=1699990000", "--end=\(Corpus.t)", "SERVER", "instance"],
            ]
            for c in commands {
                let a = try await offPool { try Promtool.run(c.map { $0 == "SERVER" ? ours : $0 }) }
                let b = try await offPool { try Promtool.run(c.map { $0 == "SERVER" ? theirs : $0 }) }
                #expect(!a.isEmpty, "\(c)")
                #expect(a == b, "\(c):\nours:\n\(a)\nprometheus:\n\(b)")
            }
        }
    }
}

@Suite(.blocking) struct PromtoolTests {
    @Test(.enabled(if: Promtool.isAvailable)) func promtoolQueriesTsdbServer() async throws {
        try await withServer { s in
            let instant = try await offPool { [base = s.base] in try Promtool.run(["query", "instant", "--time=\(Corpus.t)", base, #"up{job="api"}"#]) }
            #expect(instant == """
                up{instance="a:9100", job="api"} => 1 @[1700000000]
                up{instance="b:9100", job="api"} => 1 @[1700000000]
                up{instance="c:9100", job="api"} => 0 @[1700000000]

                """)
            let base = s.base
            let range = try await offPool {
                try Promtool.run(["query", "range", "--start=1699999880", "--end=\(Corpus.t)", "--step=60s", base,
                                  #"up{instance="a:9100",job="web"}"#])
            }
            #expect(range.contains(#"up{instance="a:9100", job="web"} =>"#) && range.contains("1 @[1699999940]"))
            let series = try await offPool { [base = s.base] in try Promtool.run(["query", "series", "--match=up{job=\"web\"}", "--start=1699990000", "--end=1700000000", base]) }
            #expect(series.split(separator: "\n").count == 3)
            #expect(series.contains(#"{__name__="up", instance="b:9100", job="web"}"#))
            let labels = try await offPool { [base = s.base] in try Promtool.run(["query", "labels", "--start=1699990000", "--end=1700000000", base, "job"]) }
            #expect(labels == "api\nweb\n")
        }
    }
}
