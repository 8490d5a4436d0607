import Exposition
import Foundation
import Prometheus
import Testing
import TSDB
import TSDBTestSupport
@testable import TSDBServer

/// `/metrics` samples by series text (`name{a="b",...}` as ``Labels`` prints it).
func scrapeMetrics(_ base: String) async throws -> (contentType: String, samples: [String: Double]) {
    let reply = try await offPool { try HTTP.curl(["-g", "-D", "-", base + "/metrics"]) }
    guard let split = reply.body.range(of: "\r\n\r\n") else { throw CommandFailure(description: "no headers: \(reply.body.prefix(200))") }
    let head = reply.body[..<split.lowerBound]
    let contentType = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-type:") }
        .map { $0.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces) } ?? ""
    let bytes = Array(reply.body[split.upperBound...].utf8)
    let samples = try bytes.withUnsafeBytes { raw throws -> [String: Double] in
        var parser = TextParser(raw, format: .prometheusText)
        var out: [String: Double] = [:]
        while let s = try parser.next() { out[try parser.labels(of: s).description] = s.value }
        return out
    }
    return (contentType, samples)
}

struct StaticSource: MetricsSource {
    var text: String
    func exposition() async -> String { text }
}

@Suite(.blocking, .serialized) struct MetricsTests {
    @Test func engineAndHTTPMetricsAreScraped() async throws {
        try await withServer { s in
            // New head series, so the gauge has something to follow.
            var app = try s.db.appender()
            for i in 0..<25 {
                _ = try app.append(try Labels(["__name__": "scrape_test", "i": String(i)]), timestamp: Fixture.end + 60_000, value: 1)
            }
            try app.commit()
            for _ in 0..<3 { #expect(try await HTTP.get(s.base + "/api/v1/query?query=up&time=1700000000").status == 200) }
            #expect(try await HTTP.get(s.base + "/api/v1/query?query=sum(").status == 400)
            _ = try await HTTP.get(s.base + "/api/v1/label/job/values")

            // The engine publishes its gauges about once a second: poll with a generous deadline.
            let want = Double(s.db.headSeriesCount)
            var scraped = try await scrapeMetrics(s.base)
            let deadline = ContinuousClock.now + .seconds(60)
            while scraped.samples[#"{__name__="prometheus_tsdb_head_series"}"#] != want, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                scraped = try await scrapeMetrics(s.base)
            }
            #expect(scraped.contentType == "text/plain; version=0.0.4; charset=utf-8")
            #expect(want >= 25)
            #expect(scraped.samples[#"{__name__="prometheus_tsdb_head_series"}"#] == want)
            #expect(scraped.samples[#"{__name__="prometheus_tsdb_head_samples_appended_total"}"#].map { $0 >= 25 } == true)

            let m = scraped.samples
            #expect(m[#"{__name__="prometheus_http_requests_total", code="200", handler="/api/v1/query"}"#] == 3)
            #expect(m[#"{__name__="prometheus_http_requests_total", code="400", handler="/api/v1/query"}"#] == 1)
            #expect(m[#"{__name__="prometheus_http_requests_total", code="200", handler="/api/v1/label/:name/values"}"#] == 1)
            #expect(m[#"{__name__="prometheus_http_request_duration_seconds_count", handler="/api/v1/query"}"#] == 4)
            #expect(m[#"{__name__="prometheus_http_request_duration_seconds_bucket", handler="/api/v1/query", le="+Inf"}"#] == 4)
        }
    }

    @Test func sourcesFollowTheRegistry() async throws {
        let work = try TemporaryDirectory("tsdb-server-metrics")
        defer { work.remove() }
        let db = try DB.open(directory: work.path)
        defer { try? db.close() }
        let registry = PrometheusCollectorRegistry()
        registry.makeGauge(descriptor: .init(metricName: "own", unitName: "thing", helpText: "x")).set(2.0)
        let server = TSDBServer(api: PrometheusAPI(db: db), metricsSources: [
            StaticSource(text: "# TYPE push_time_seconds gauge\npush_time_seconds{job=\"a\"} 5\n"),
            StaticSource(text: "other_total 1"),
        ], registry: registry)
        let text = String(decoding: await server.metricsExposition(), as: UTF8.self)
        #expect(text.contains("own_thing 2"))
        #expect(text.hasSuffix("push_time_seconds{job=\"a\"} 5\nother_total 1"))
        #expect(text.firstRange(of: "own_thing")!.lowerBound < text.firstRange(of: "push_time_seconds")!.lowerBound)
    }
}
