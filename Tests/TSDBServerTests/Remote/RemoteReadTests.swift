import Foundation
import RemoteProtocol
import Testing
import TSDB
@testable import TSDBServer
import TSDBTestSupport

@Suite(.blocking, .serialized) struct RemoteReadTests {
    static let t0: Int64 = 1_700_000_000_000

    /// Three series of `rr_metric`, a sample every 15 s for 20 minutes, and one other metric.
    static func fill(_ db: DB) throws {
        var app = try db.appender()
        for (job, slope) in [("a", 1.0), ("b", 2.0), ("c", 0.5)] {
            let labels = try Labels(["__name__": "rr_metric", "job": job, "env": "test"])
            var ref: SeriesRef? = nil
            for i in 0..<80 {
                let t = t0 + Int64(i) * 15_000
                if let r = ref { _ = try app.append(r, timestamp: t, value: Double(i) * slope) }
                else { ref = try app.append(labels, timestamp: t, value: Double(i) * slope) }
            }
        }
        _ = try app.append(try Labels(["__name__": "other", "job": "a"]), timestamp: t0, value: 42)
        try app.commit()
    }

    static func query(_ start: Int64, _ end: Int64, _ matchers: [(Prometheus_LabelMatcher.TypeEnum, String, String)]) -> Prometheus_Query {
        var q = Prometheus_Query()
        q.startTimestampMs = start
        q.endTimestampMs = end
        q.matchers = matchers.map { type, name, value in
            var m = Prometheus_LabelMatcher()
            m.type = type
            m.name = name
            m.value = value
            return m
        }
        return q
    }

    /// Matchers, time ranges, several queries in one request, and the sample limit.
    @Test func answersSampledQueries() async throws {
        var remote = RemoteConfiguration()
        remote.readSampleLimit = 100
        try await withEmptyServer(remote: remote) { s in
            try Self.fill(s.db)
            var request = Prometheus_ReadRequest()
            request.queries = [
                Self.query(Self.t0, Self.t0 + 60_000, [(.eq, "__name__", "rr_metric"), (.re, "job", "a|b")]),
                Self.query(Self.t0, Self.t0 + 3_600_000, [(.eq, "__name__", "other")]),
                Self.query(Self.t0, Self.t0 + 3_600_000, [(.eq, "__name__", "nothing")]),
            ]
            request.acceptedResponseTypes = [.samples]
            let r = try await Remote.read(s.base + "/api/v1/read", request)
            #expect(r.status == 200, "\(r.text)")
            let results = try #require(r.response).results
            #expect(results.count == 3)
            let first = results[0].timeseries
            #expect(first.map { $0.labels.map { "\($0.name)=\($0.value)" } } == [
                ["__name__=rr_metric", "env=test", "job=a"], ["__name__=rr_metric", "env=test", "job=b"],
            ])
            #expect(first[0].samples.map(\.timestamp) == (0...4).map { Self.t0 + Int64($0) * 15_000 })
            #expect(first[1].samples.map(\.value) == [0, 2, 4, 6, 8])
            #expect(results[1].timeseries.count == 1 && results[1].timeseries[0].samples.map(\.value) == [42])
            #expect(results[2].timeseries.isEmpty)

            // 240 samples in one query: over the limit of 100, as Prometheus answers it.
            request.queries = [Self.query(Self.t0, Self.t0 + 3_600_000, [(.eq, "__name__", "rr_metric")])]
            let over = try await Remote.read(s.base + "/api/v1/read", request)
            #expect(over.status == 400 && over.text == "exceeded sample limit (100)\n")

            // Only streamed chunks accepted: refused with 2.42's text.
            request.acceptedResponseTypes = [.streamedXorChunks]
            let streamed = try await Remote.read(s.base + "/api/v1/read", request)
            #expect(streamed.status == 400 && streamed.text.contains("supported: [SAMPLES]"))

            // A bad regex and a body that is not snappy.
            request.acceptedResponseTypes = []
            request.queries = [Self.query(Self.t0, Self.t0 + 1, [(.re, "job", "(")])]
            #expect(try await Remote.read(s.base + "/api/v1/read", request).status == 400)
            let garbage = try await Remote.post(s.base + "/api/v1/read", [1, 2, 3, 4, 5])
            #expect(garbage.status == 400)
        }
    }

    /// A real Prometheus with `remote_read` (and nothing of its own) answers PromQL over data
    /// only we hold, the same as we answer it.
    @Test(.enabled(if: PrometheusServer.isAvailable))
    func prometheusQueriesThroughRemoteRead() async throws {
        try await withEmptyServer { s in
            try Self.fill(s.db)
            let work = try TemporaryDirectory("tsdb-remote-read-prom")
            defer { work.remove() }
            let prometheus = try PrometheusServer.start(directory: work.path + "/prom", work: work.path, config: """
                global: {}
                remote_read:
                  - url: \(s.base)/api/v1/read
                    read_recent: true

                """)
            defer { prometheus.stop() }
            let queries = [
                "/api/v1/query?query=rr_metric%5B5m%5D&time=1700000600",
                "/api/v1/query?query=sum%20by%20(job)%20(rate(rr_metric%5B2m%5D))&time=1700000900",
                "/api/v1/query_range?query=rr_metric%7Bjob%3D~%22a%7Cc%22%7D&start=1700000000&end=1700001200&step=60",
                "/api/v1/query?query=other&time=1700000100",
            ]
            for q in queries {
                let ours = try Remote.samples(try await HTTP.get(s.base + q).body)
                let theirs = try Remote.samples(try await HTTP.get(prometheus.base + q).body)
                #expect(!ours.isEmpty, "\(q)")
                #expect(ours == theirs, "\(q)")
            }
        }
    }
}
