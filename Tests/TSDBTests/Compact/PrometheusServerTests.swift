import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

/// A real Prometheus server, started on a copy of a data directory we wrote (blocks, WAL
/// checkpoint and WAL), answers queries as our own querier does.
@Suite(.heavy) struct PrometheusServerTests {
    static let prometheus: String? = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static func get(_ url: String) -> (status: Int, body: String)? {
        guard let u = URL(string: url) else { return nil }
        let done = DispatchSemaphore(value: 0)
        let result = Locked<(Int, String)?>(nil)
        URLSession.shared.dataTask(with: u) { data, response, _ in
            if let http = response as? HTTPURLResponse {
                result.withLock { $0 = (http.statusCode, String(decoding: data ?? Data(), as: UTF8.self)) }
            }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 10)
        return result.withLock { $0 }
    }

    @Test(.enabled(if: prometheus != nil, "needs the prometheus binary: apt-get install -y prometheus"))
    func prometheusServesOurDataDirectory() throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.compactionEnabled = false
            let data = dir + "/data"
            let db = try DB.open(directory: data, options: options)
            let model = try HeadCompactionTests.ingest(db, hours: 5)
            #expect(try db.compact().count == 1)
            let ours = try db.querier(minTime: .min, maxTime: .max).select(#"m{i="7"}"#)
            try db.close()

            // An empty scrape configuration; a port of our own.
            let config = dir + "/prometheus.yml"
            try Data("global: {}\n".utf8).write(to: URL(fileURLWithPath: config))
            let port = 20_000 + Int(getpid() % 10_000)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: Self.prometheus!)
            server.arguments = ["--config.file=" + config, "--storage.tsdb.path=" + data,
                                "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.retention.time=100y"]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try server.run()
            defer { server.terminate(); server.waitUntilExit() }
            let base = "http://127.0.0.1:\(port)"
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, Self.get(base + "/-/ready")?.status != 200 { usleep(200_000) }
            #expect(Self.get(base + "/-/ready")?.status == 200, "Prometheus did not become ready")

            // Every series has a sample in the last scrape, within the 5 min lookback.
            let lastMs = model.values.first!.last!.timestamp
            let t = String(format: "%.3f", Double(lastMs) / 1000)
            let count = try #require(Self.get(base + "/api/v1/query?query=count(%7B__name__%3D~%22.%2B%22%7D)&time=" + t))
            #expect(count.body.contains("\"200\""), "\(count.body)")

            // query_range over one series, spanning the block and the head, at its own 15 s
            // steps: every value equals ours.
            let samples = try #require(ours.first?.samples)
            let start = String(format: "%.3f", Double(samples.first!.timestamp) / 1000)
            let end = String(format: "%.3f", Double(samples.last!.timestamp) / 1000)
            let range = try #require(Self.get(base + "/api/v1/query_range?query=m%7Bi%3D%227%22%7D&start=\(start)&end=\(end)&step=15"))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(range.body.utf8)) as? [String: Any])
            let result = ((json["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
            #expect(result.count == 1, "\(range.body.prefix(300))")
            let values = (result.first?["values"] as? [[Any]]) ?? []
            #expect(values.count == samples.count)
            for (pair, s) in zip(values, samples) {
                let v = Double(pair[1] as? String ?? "") ?? .nan
                if v != s.value { Issue.record("at \(s.timestamp): Prometheus \(v), ours \(s.value)"); break }
            }
        }
    }
}
