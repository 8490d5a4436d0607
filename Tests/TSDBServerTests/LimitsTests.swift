import Foundation
import Testing
import TSDB
@testable import TSDBServer
import TSDBTestSupport

/// What the issue asks every server to survive: a 100 MB body, a query needing 10^9
/// samples, 1,000 connections at once, and a client that goes away mid-query. Each gets
/// Prometheus's answer and the server keeps serving.
@Suite(.blocking, .serialized) struct LimitsTests {
    /// 100 MB to the form endpoints, to remote write and to the push API, with the default
    /// limits: refused without being read whole.
    @Test func hundredMegabyteBodies() async throws {
        let work = try TemporaryDirectory("tsdb-limits-body")
        defer { work.remove() }
        let file = work.path + "/body"
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        FileManager.default.createFile(atPath: file, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.write(contentsOf: Data("query=".utf8))
        for _ in 0..<100 { try handle.write(contentsOf: chunk) }
        try handle.close()
        var push = PushConfiguration()
        push.interval = .seconds(3600)
        let server = try await InProcessServer.start(directory: work.path + "/data", push: push)
        do {
            func post(_ path: String, _ headers: [String] = []) async throws -> HTTP.Reply {
                try await offPool {
                    try HTTP.curl(["-X", "POST"] + headers.flatMap { ["-H", $0] } + ["--data-binary", "@\(file)", server.base + path])
                }
            }
            // /series parses the form and says why; /query reads its parameters as Go's
            // FormValue does, which drops the body that failed: no query, as in Prometheus.
            let form = try await post("/api/v1/series", ["Content-Type: application/x-www-form-urlencoded"])
            #expect(form.status == 400)
            #expect(form.body.contains("error parsing form values: http: POST too large"), "\(form.body.prefix(300))")
            let query = try await post("/api/v1/query", ["Content-Type: application/x-www-form-urlencoded"])
            #expect(query.status == 400)
            #expect(query.body.contains("no expression found in input"), "\(query.body.prefix(300))")
            let write = try await post("/api/v1/write", ["Content-Encoding: snappy"])
            #expect(write.status == 413, "\(write.body.prefix(300))")
            let pushed = try await post("/metrics/job/big")
            #expect(pushed.status == 413, "\(pushed.body.prefix(300))")
            #expect(try await HTTP.get(server.base + "/api/v1/query?query=1").status == 200)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// With the default --query.max-samples (50,000,000), queries that would need 10^9
    /// samples are refused with 422 before anything that size is allocated.
    @Test func billionSampleQueries() async throws {
        try await withServer { s in
            for query in [
                "sum_over_time(vector(1)%5B12d:1ms%5D)",                          // 1.04e9 points in one subquery
                "count_over_time(http_requests_total%5B5h:1ms%5D)",               // 1.8e7 per series × 12 series
            ] {
                let r = try await HTTP.get(s.base + "/api/v1/query?query=\(query)&time=1700000000")
                #expect(r.status == 422, "\(query): \(r.body)")
                #expect(r.body.contains("query processing would load too many samples into memory"), "\(r.body)")
            }
            let range = try await HTTP.get(s.base + "/api/v1/query_range?query=http_requests_total&start=0&end=1700000000&step=1")
            #expect(range.status == 400, "\(range.body)")
            #expect(range.body.contains("exceeded maximum resolution of 11,000 points per timeseries"))
            #expect(try await HTTP.get(s.base + "/-/ready").status == 200)
        }
    }

    /// 1,000 connections open at once, each with a request: all answered, beyond
    /// --web.max-connections (512) by waiting to be accepted.
    @Test func thousandConnections() async throws {
        let work = try TemporaryDirectory("tsdb-limits-conn")
        defer { work.remove() }
        let server = try await InProcessServer.start(directory: work.path + "/data")
        do {
            let port = server.port
            let paths = (0..<1000).map { $0 % 3 == 0 ? "/api/v1/query?query=sum(" : "/api/v1/query?query=1%2B\($0)" }
            let codes = try await offPool { concurrentGets(port: port, paths: paths) }
            let answered = codes.enumerated().filter { $0.element == ($0.offset % 3 == 0 ? 400 : 200) }.count
            #expect(answered == 1000, "\(Set(codes.map { String(describing: $0) }))")
            #expect(try await HTTP.get(server.base + "/-/healthy").status == 200)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// A client that gives up cancels its query: the slot it held frees long before the
    /// query would have finished.
    @Test func disconnectCancelsTheQuery() async throws {
        try await withServer { s in
            // Minutes of evaluation in little memory: 3,600 inner subqueries of 3.6e6 steps.
            let slow = s.base + "/api/v1/query?query=max_over_time(max_over_time(vector(1)%5B1h:1ms%5D)%5B1h:1s%5D)&time=1700000000"
            let started = Date()
            let r = try await offPool { try Command.runStatus("/usr/bin/curl", ["-s", "-m", "1", slow]) }
            #expect(r.status == 28)  // curl's "operation timed out"
            var running = s.api.runningQueries
            for _ in 0..<200 where running > 0 {
                try await Task.sleep(for: .milliseconds(50))
                running = s.api.runningQueries
            }
            #expect(running == 0, "still running \(Date().timeIntervalSince(started)) s after the client left")
            #expect(try await HTTP.get(s.base + "/api/v1/query?query=1").status == 200)
        }
    }

    /// Queries keep the connection open: curl sends both on one connection, and both are
    /// answered (the disconnect watcher does not close it after an answer).
    @Test func queriesKeepTheConnectionAlive() async throws {
        try await withServer { s in
            let q = s.base + "/api/v1/query?query=vector(1)&time=1700000000"
            let r = try await offPool {
                try Command.runStatus("/usr/bin/curl", ["-s", "-v", "-m", "20", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code}\n", q, q])
            }
            #expect(r.status == 0)
            #expect(r.stdout.split(separator: "\n") == ["200", "200"])
            #expect(r.stderr.contains("Re-using existing connection"), "\(r.stderr)")
        }
    }
}
