import Foundation
import Testing
import TSDBTestSupport

/// `stats=all` against Prometheus 2.42: the samples each query read must be the same count,
/// in total and at each step; the timings and `peakSamples` are each engine's own.
@Suite(.blocking, .serialized) struct StatsComparisonTests {
    static let instant = [
        "up", #"up{job="api"}"#, "rate(http_requests_total[5m])", "sum by (job) (rate(http_requests_total[5m]))",
        "avg_over_time(node_temperature_celsius[10m])", "up[5m]", "sparse_metric[1h]", "1.5", "time()", "vector(1)",
        "absent(nonexistent)", "absent_over_time(up[5m])", "absent_over_time(nonexistent[5m])",
        "timestamp(up)", "up @ 1699999000", "rate(http_requests_total[5m] @ 1699999000)",
        "max_over_time(rate(http_requests_total[5m])[30m:1m])", "up[10m:1m]", "up[10m:1m] @ 1699999000",
        "sum_over_time(up[1h:5m] offset 10m)", "http_requests_total / ignoring(code) group_left sum without (code) (http_requests_total)",
        "topk(2, up) + on(job, instance) group_left up offset 1h", "count_over_time(sparse_metric[2h])",
        "max_over_time(max_over_time(up[10m:1m])[30m:5m])", "predict_linear(node_temperature_celsius[15m], 60)",
        "nonexistent_metric",
    ]
    static let range = [
        "up", "rate(http_requests_total[5m])", "sum by (job) (rate(http_requests_total[5m]))", "1", "time()",
        "sparse_metric", "up @ 1699995000", "rate(http_requests_total[5m] @ 1699995000)", "timestamp(up)",
        "max_over_time(rate(http_requests_total[5m])[30m:1m])", "absent_over_time(up[2m])",
        "avg_over_time(up[10m] offset 30m)", "up * on(job, instance) group_left up offset 1h", "scalar(up{instance=\"a:9100\",job=\"api\"})",
    ]

    static var requests: [String] {
        let t = Corpus.t
        var r = instant.map { "/api/v1/query?query=\(Corpus.q($0))&time=\(t)&stats=all" }
        r += range.map { "/api/v1/query_range?query=\(Corpus.q($0))&start=1699990000&end=\(t)&step=300&stats=all" }
        // Steps that do not divide the range, and a single step.
        r.append("/api/v1/query_range?query=up&start=1699990001&end=\(t)&step=777&stats=all")
        r.append("/api/v1/query_range?query=rate(up%5B5m%5D)&start=\(t)&end=\(t)&step=60&stats=all")
        return r
    }

    static func samples(_ body: String) -> [String: Any]? {
        guard let j = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let data = j["data"] as? [String: Any], let stats = data["stats"] as? [String: Any] else { return nil }
        return stats["samples"] as? [String: Any]
    }

    static func compare(_ ours: String, _ theirs: String, perStep: Bool) async throws -> [String] {
        var differences: [String] = []
        for path in requests {
            let a = try await HTTP.get(ours + path), b = try await HTTP.get(theirs + path)
            guard a.status == b.status, let sa = samples(a.body), let sb = samples(b.body) else {
                differences.append("\(path): \(a.status) \(a.body.prefix(200)) vs \(b.status) \(b.body.prefix(200))")
                continue
            }
            if Set(sa.keys) != Set(sb.keys) {
                differences.append("\(path): keys \(sa.keys.sorted()) vs \(sb.keys.sorted())")
                continue
            }
            if perStep != (sa["totalQueryableSamplesPerStep"] != nil) {
                differences.append("\(path): per-step stats \(perStep ? "missing" : "present")")
            }
            let ta = sa["totalQueryableSamples"] as? Int, tb = sb["totalQueryableSamples"] as? Int
            if ta != tb { differences.append("\(path): totalQueryableSamples \(String(describing: ta)) vs \(String(describing: tb))") }
            if let pa = sa["totalQueryableSamplesPerStep"], let pb = sb["totalQueryableSamplesPerStep"],
               JSONComparer.text(pa) != JSONComparer.text(pb) {
                differences.append("\(path): per step \(JSONComparer.text(pa).prefix(300)) vs \(JSONComparer.text(pb).prefix(300))")
            }
            if let peak = sa["peakSamples"] as? Int, let total = ta, peak < 0 || (total > 0 && peak == 0) {
                differences.append("\(path): peakSamples \(peak) with \(total) read")
            }
        }
        return differences
    }

    @Test(.enabled(if: PrometheusServer.isAvailable)) func sampleCountsAsPrometheus() async throws {
        try await ComparisonTests.withBoth(perStepStats: false) { ours, theirs in
            let d = try await Self.compare(ours, theirs, perStep: false)
            #expect(d.isEmpty, "\(d.count) differences:\n\(d.joined(separator: "\n"))")
        }
    }

    @Test(.enabled(if: PrometheusServer.isAvailable)) func sampleCountsPerStepAsPrometheus() async throws {
        try await ComparisonTests.withBoth(perStepStats: true) { ours, theirs in
            let d = try await Self.compare(ours, theirs, perStep: true)
            #expect(d.isEmpty, "\(d.count) differences:\n\(d.joined(separator: "\n"))")
        }
    }
}
