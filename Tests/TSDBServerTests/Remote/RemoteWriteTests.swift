import Foundation
import RemoteProtocol
import Testing
import TSDB
@testable import TSDBServer
import TSDBTestSupport

/// Runs `body` against an in-process server on an empty directory; always stops it.
func withEmptyServer(remote: RemoteConfiguration = RemoteConfiguration(),
                     _ body: (InProcessServer) async throws -> Void) async throws {
    try await withServer(fixture: false, remote: remote, body)
}

@Suite(.blocking, .serialized) struct RemoteWriteTests {
    /// A good request is one transaction: 204, and every sample reads back exactly.
    @Test func storesEverySample() async throws {
        try await withEmptyServer { s in
            let t0: Int64 = 1_700_000_000_000
            let body = try Remote.body([
                Remote.series([("__name__", "rw_test"), ("job", "a")], [(t0, 1), (t0 + 15_000, 2.5), (t0 + 30_000, -3)]),
                Remote.series([("__name__", "rw_test"), ("job", "b")], [(t0, .infinity)]),
            ])
            let r = try await Remote.post(s.base + "/api/v1/write", body)
            #expect(r.status == 204)
            #expect(r.body.isEmpty)
            let q = try await HTTP.get(s.base + #"/api/v1/query?query=rw_test[1m]&time=1700000030"#)
            let got = try Remote.samples(q.body)
            #expect(got == [
                "__name__=rw_test,job=a": ["1700000000@1", "1700000015@2.5", "1700000030@-3"],
                "__name__=rw_test,job=b": ["1700000000@+Inf"],
            ])
        }
    }

    /// The first rejected sample rolls the whole request back and is a 400 with Prometheus's
    /// text; the next good request is stored.
    @Test func rejectedSamplesStoreNothing() async throws {
        try await withEmptyServer { s in
            let t0: Int64 = 1_700_000_000_000
            let url = s.base + "/api/v1/write"
            #expect(try await Remote.post(url, Remote.body([Remote.series([("__name__", "m")], [(t0, 1)])])).status == 204)
            let cases: [(Prometheus_TimeSeries, String)] = [
                (Remote.series([("__name__", "m")], [(t0 - 1000, 1)]), "out of order sample"),
                (Remote.series([("__name__", "m")], [(t0, 2)]), "duplicate sample for timestamp"),
                (Remote.series([("b", "1"), ("a", "1")], [(t0, 1)]), "invalid labels"),
                (Remote.series([("a", "1"), ("a", "2")], [(t0, 1)]), "invalid labels"),
                (Remote.series([("a", String(repeating: "x", count: 10 << 20))], [(t0, 1)]), "invalid labels"),
                (Remote.series([("__name__", "m"), ("1bad", "x")], [(t0, 1)]), "invalid labels"),
                (Remote.series([], [(t0, 1)]), "invalid labels"),
            ]
            for (bad, text) in cases {
                // A good series first: it must not be stored either.
                let good = Remote.series([("__name__", "partial")], [(t0, 1)])
                let r = try await Remote.post(url, Remote.body([good, bad]))
                #expect(r.status == 400, "\(text)")
                #expect(r.body.contains(text), "\(r.body)")
            }
            let partial = try await HTTP.get(s.base + "/api/v1/query?query=partial&time=1700000000")
            #expect(try Remote.samples(partial.body).isEmpty)
            // The same value at a stored timestamp is no error, as in Prometheus.
            #expect(try await Remote.post(url, Remote.body([Remote.series([("__name__", "m")], [(t0, 1), (t0 + 1, 2)])])).status == 204)
        }
    }

    /// Bodies that are not remote write: 4xx with a message, and the server keeps serving.
    @Test func badBodies() async throws {
        var remote = RemoteConfiguration()
        remote.maxWriteBodyBytes = 1 << 20
        try await withEmptyServer(remote: remote) { s in
            let url = s.base + "/api/v1/write"
            let message = try { () throws -> [UInt8] in
                var w = Prometheus_WriteRequest()
                w.timeseries = [Remote.series([("__name__", "m"), ("job", "x")], [(1_700_000_000_000, 1)])]
                return try w.serializedBytes()
            }()
            // Truncated protobuf.
            var r = try await Remote.post(url, SnappyBody.encode(Array(message.dropLast(3))))
            #expect(r.status == 400 && r.body.contains("proto"), "\(r.body)")
            // Not snappy at all.
            r = try await Remote.post(url, message)
            #expect(r.status == 400 && r.body.contains("snappy"), "\(r.body)")
            // A snappy bomb: eight bytes declaring 2 GiB.
            r = try await Remote.post(url, [0x80, 0x80, 0x80, 0x80, 0x08, 0x00, 0x01, 0x61])
            #expect(r.status == 413, "\(r.body)")
            // Over the body limit.
            r = try await Remote.post(url, [UInt8](repeating: 0x61, count: 2 << 20))
            #expect(r.status == 413, "\(r.body)")
            // An encoding we do not read.
            r = try await Remote.post(url, SnappyBody.encode(message), headers: ["Content-Encoding: gzip"])
            #expect(r.status == 415, "\(r.body)")
            // Still serving, and nothing of the above stored.
            r = try await Remote.post(url, SnappyBody.encode(message))
            #expect(r.status == 204)
            let q = try await HTTP.get(s.base + "/api/v1/series?match[]={__name__=~\".%2B\"}")
            #expect(q.body == #"{"status":"success","data":[{"__name__":"m","job":"x"}]}"#)
        }
    }

    @Test func disabledReceiverIsNotFound() async throws {
        var remote = RemoteConfiguration()
        remote.enableWriteReceiver = false
        try await withEmptyServer(remote: remote) { s in
            let r = try await Remote.post(s.base + "/api/v1/write", Remote.body([Remote.series([("a", "b")], [(1, 1)])]))
            #expect(r.status == 404)
        }
    }

    /// A real Prometheus scrapes a static target and remote-writes to us: every sample it
    /// stored itself arrives here, the same timestamps and values.
    @Test(.enabled(if: PrometheusServer.isAvailable))
    func prometheusSendsEverySample() async throws {
        try await withEmptyServer { s in
            let work = try TemporaryDirectory("tsdb-remote-prom")
            defer { work.remove() }
            // The target: a static file served by Python, changing each second.
            let target = try StaticTarget.start(directory: work.path + "/target")
            defer { target.stop() }
            func exposition(_ i: Int) -> String {
                """
                # TYPE batch_items_total counter
                batch_items_total{kind="a"} \(i * 10)
                batch_items_total{kind="b"} \(i * 7)
                # TYPE temperature gauge
                temperature{room="hall"} \(20 + Double(i) / 4)

                """
            }
            try target.write(exposition(0))
            let prometheus = try PrometheusServer.start(directory: work.path + "/prom", work: work.path, config: """
                global: {scrape_interval: 1s, evaluation_interval: 1s}
                scrape_configs:
                  - job_name: static
                    metrics_path: /metrics.txt
                    static_configs: [{targets: ['127.0.0.1:\(target.port)']}]
                remote_write:
                  - url: \(s.base)/api/v1/write
                    queue_config: {batch_send_deadline: 1s, min_backoff: 50ms, max_backoff: 1s}

                """)
            defer { prometheus.stop() }
            // Its discovery hands the target to the scrape loop after about 5 s.
            for _ in 0..<300 {
                let up = try await HTTP.get(prometheus.base + "/api/v1/query?query=up")
                if up.body.contains(#""job":"static""#) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            for i in 1..<8 {
                try target.write(exposition(i))
                try await Task.sleep(for: .seconds(1))
            }
            // Every sample Prometheus holds up to 3 s ago is sent within its 1 s deadline.
            let at = Double(Int(Date().timeIntervalSince1970) - 3)
            let query = "/api/v1/query?query=%7Bjob%3D%22static%22%7D%5B1h%5D&time=\(at)"
            let expected = try Remote.samples(try await HTTP.get(prometheus.base + query).body)
            #expect(expected.keys.contains { $0.hasPrefix("__name__=batch_items_total") })
            #expect(expected.keys.contains { $0.hasPrefix("__name__=up,") })
            var got: [String: [String]] = [:]
            for _ in 0..<100 {
                got = try Remote.samples(try await HTTP.get(s.base + query).body)
                if got == expected { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(got == expected)
            #expect(expected.values.reduce(0) { $0 + $1.count } >= 4 * 5)
        }
    }
}

/// A scrape target: Python's static file server over a directory holding `metrics.txt`.
final class StaticTarget: @unchecked Sendable {
    let process: Process
    let port: Int
    let directory: String

    static func start(directory: String) throws -> StaticTarget {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "".write(toFile: directory + "/metrics.txt", atomically: true, encoding: .utf8)
        let port = try freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory, String(port)]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let target = StaticTarget(process: p, port: port, directory: directory)
        for _ in 0..<100 {
            if let r = try? HTTP.curl(["http://127.0.0.1:\(port)/metrics.txt"]), r.status == 200 { return target }
            usleep(100_000)
        }
        target.stop()
        throw CommandFailure(description: "python3 -m http.server did not start")
    }

    private init(process: Process, port: Int, directory: String) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    func write(_ text: String) throws {
        try text.write(toFile: directory + "/metrics.txt", atomically: true, encoding: .utf8)
    }

    /// SIGKILL: a child of the test process may inherit a mask that blocks SIGTERM, and
    /// Python does not unblock it.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
