import Foundation
import Testing
import TSDB
@testable import TSDBServer
import TSDBTestSupport

/// The real Pushgateway 1.5.1 (Debian's `prometheus-pushgateway`), on a free port.
final class Pushgateway: @unchecked Sendable {
    static let path = "/usr/bin/prometheus-pushgateway"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    let process: Process
    let port: Int

    static func start(work: String) throws -> Pushgateway {
        let port = try freePort()
        // Debian's build persists to /var/lib/prometheus by default: a file of the test's own.
        let persistence = work + "/pushgateway.data"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["--web.listen-address=127.0.0.1:\(port)", "--log.level=warn", "--persistence.file=\(persistence)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let gateway = Pushgateway(process: p, port: port)
        for _ in 0..<300 {
            if let r = try? HTTP.curl(["http://127.0.0.1:\(port)/-/ready"]), r.status == 200 { return gateway }
            if !p.isRunning { break }
            usleep(100_000)
        }
        gateway.stop()
        throw CommandFailure(description: "the Pushgateway did not become ready")
    }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// One step of a push script: a method, a path and a body.
struct PushStep: CustomStringConvertible {
    var method: String
    var path: String
    var body: String = ""
    var description: String { "\(method) \(path)" }
}

enum PushScript {
    /// curl with `body` sent as is (as `curl --data-binary @-` does).
    static func send(_ base: String, _ step: PushStep) async throws -> HTTP.Reply {
        try await offPool {
            let file = NSTemporaryDirectory() + "push-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            try step.body.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            var args = ["-g", "--path-as-is", "-X", step.method]
            if step.method != "DELETE" { args += ["--data-binary", "@\(file)"] }
            return try HTTP.curl(args + [base + step.path])
        }
    }

    /// The lines of a `/metrics` answer that describe pushed groups: the families named in
    /// `names` (with a histogram's or summary's suffixes) and the two push-time gauges, whose
    /// values are reduced to "0" or "set" since the two servers push at different instants.
    static func pushedLines(_ exposition: String, names: Set<String>) -> [String] {
        func base(_ name: Substring) -> Substring {
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let stem = name.dropLast(suffix.count)
                if names.contains(String(stem)) { return stem }
            }
            return name
        }
        var out: [String] = []
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: true) {
            let name: Substring
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                name = line.dropFirst(7).prefix { $0 != " " }
            } else {
                name = line.prefix { $0 != "{" && $0 != " " }
            }
            let family = String(base(name))
            // Which group's HELP the Pushgateway shows for a family whose groups disagree
            // depends on Go's map order: not compared.
            if family == "help_metric" && line.hasPrefix("# HELP") { continue }
            if family == PushExposition.pushTimeName || family == PushExposition.failureTimeName {
                if line.hasPrefix("#") { out.append(String(line)); continue }
                let value = line.split(separator: " ").last.map(String.init) ?? ""
                out.append(line.dropLast(value.count) + (value == "0" ? "0" : "set"))
            } else if names.contains(family) {
                out.append(String(line))
            }
        }
        return out
    }
}

@Suite(.blocking, .serialized) struct PushGatewayTests {
    static let names: Set<String> = [
        "batch_items_total", "batch_duration_seconds", "batch_last_success", "job_latency", "job_quantiles",
        "untyped_thing", "conflict_metric", "help_metric",
    ]

    static let steps: [PushStep] = [
        PushStep(method: "PUT", path: "/metrics/job/batch", body: """
            # HELP batch_items_total Items processed.
            # TYPE batch_items_total counter
            batch_items_total{kind="a"} 10
            batch_items_total{kind="b"} 3
            # TYPE batch_last_success gauge
            batch_last_success 1.7e+09

            """),
        // POST replaces only the names it pushes.
        PushStep(method: "POST", path: "/metrics/job/batch", body: "# TYPE batch_items_total counter\nbatch_items_total{kind=\"a\"} 12\n"),
        PushStep(method: "POST", path: "/metrics/job/batch/instance/x", body: "untyped_thing 1\nuntyped_thing{a=\"1\"} 2\n"),
        // The grouping labels win over pushed ones.
        PushStep(method: "POST", path: "/metrics/job/batch/instance/y", body: "untyped_thing{job=\"other\",instance=\"z\"} 5\n"),
        // base64url grouping values: a slash in a job, an empty value.
        PushStep(method: "PUT", path: "/metrics/job@base64/YmF0Y2gvd2l0aC9zbGFzaA/path@base64/L3Zhci90bXA", body: "untyped_thing 7\n"),
        PushStep(method: "PUT", path: "/metrics/job/empties/e@base64/=", body: "untyped_thing 8\n"),
        // Histogram and summary.
        PushStep(method: "PUT", path: "/metrics/job/hist", body: """
            # HELP job_latency Latency.
            # TYPE job_latency histogram
            job_latency_bucket{le="0.1"} 1
            job_latency_bucket{le="1"} 3
            job_latency_sum 1.5
            job_latency_count 4
            # TYPE job_quantiles summary
            job_quantiles{quantile="0.5"} 0.2
            job_quantiles{quantile="0.99"} 0.9
            job_quantiles_sum 3
            job_quantiles_count 10

            """),
        // Refused: a timestamp, then a type conflicting with another group's, then bad text.
        PushStep(method: "POST", path: "/metrics/job/batch", body: "batch_last_success 5 1700000000000\n"),
        PushStep(method: "PUT", path: "/metrics/job/conflict", body: "# TYPE conflict_metric counter\nconflict_metric 1\n"),
        PushStep(method: "PUT", path: "/metrics/job/conflict2", body: "# TYPE conflict_metric gauge\nconflict_metric 1\n"),
        PushStep(method: "PUT", path: "/metrics/job/bad", body: "this is { not text\n"),
        PushStep(method: "PUT", path: "/metrics/job/badvalue", body: "untyped_thing abc\n"),
        // HELP differing from another group's.
        PushStep(method: "PUT", path: "/metrics/job/help1", body: "# HELP help_metric One.\nhelp_metric 1\n"),
        PushStep(method: "PUT", path: "/metrics/job/help2", body: "# HELP help_metric Two.\nhelp_metric 2\n"),
        // Bad paths.
        PushStep(method: "PUT", path: "/metrics/job/", body: "untyped_thing 1\n"),
        PushStep(method: "PUT", path: "/metrics/job/x/odd", body: "untyped_thing 1\n"),
        PushStep(method: "PUT", path: "/metrics/job/x/1bad/v", body: "untyped_thing 1\n"),
        PushStep(method: "PUT", path: "/metrics/job@base64/!!!", body: "untyped_thing 1\n"),
        // Paths Go's ServeMux cleans (301) or its router redirects (307), and trailing slashes.
        PushStep(method: "PUT", path: "/metrics/job//instance/x", body: "untyped_thing 1\n"),
        PushStep(method: "PUT", path: "/metrics/job/a/./b/c", body: "untyped_thing 1\n"),
        PushStep(method: "POST", path: "/metrics//job/a/../b?x=1", body: "untyped_thing 1\n"),
        PushStep(method: "PUT", path: "/metrics/job@base64/", body: "untyped_thing 1\n"),
        PushStep(method: "PUT", path: "/metrics/job", body: "untyped_thing 1\n"),
        PushStep(method: "PUT", path: "/metrics/job/slash/", body: "untyped_thing 9\n"),
        PushStep(method: "PUT", path: "/metrics/job/slash/l/v/", body: "untyped_thing 10\n"),
        PushStep(method: "PUT", path: "/metrics/job/slash/l/v/m/", body: "untyped_thing 10\n"),
        PushStep(method: "DELETE", path: "/metrics/job/slash/l/v/"),
        // PUT replaces the whole group; an empty PUT empties it.
        PushStep(method: "PUT", path: "/metrics/job/batch", body: "# TYPE batch_duration_seconds gauge\nbatch_duration_seconds 2.5\n"),
        PushStep(method: "PUT", path: "/metrics/job/empties/e@base64/=", body: ""),
        PushStep(method: "DELETE", path: "/metrics/job/batch/instance/x"),
        PushStep(method: "DELETE", path: "/metrics/job/never-pushed"),
    ]

    /// Each step sent to both: the same status, and the same groups on `/metrics` after it.
    @Test(.enabled(if: Pushgateway.isAvailable))
    func agreesWithThePushgateway() async throws {
        let work = try TemporaryDirectory("tsdb-push-gateway")
        defer { work.remove() }
        let gateway = try Pushgateway.start(work: work.path)
        defer { gateway.stop() }
        var config = PushConfiguration()
        config.interval = .seconds(3600)
        let server = try await InProcessServer.start(directory: work.path + "/data", push: config)
        do {
            for step in Self.steps {
                let theirs = try await PushScript.send(gateway.base, step)
                let ours = try await PushScript.send(server.base, step)
                #expect(ours.status == theirs.status, "\(step): \(ours.body) vs \(theirs.body)")
                let theirMetrics = PushScript.pushedLines(try await HTTP.get(gateway.base + "/metrics").body, names: Self.names)
                let ourMetrics = PushScript.pushedLines(try await HTTP.get(server.base + "/metrics").body, names: Self.names)
                #expect(ourMetrics == theirMetrics, "after \(step)")
            }
            // What was pushed is in the engine too, with the grouping labels.
            let q = try await HTTP.get(server.base + "/api/v1/query?query=batch_duration_seconds")
            #expect(q.body.contains(#""job":"batch""#) && q.body.contains(#""2.5"]"#))
            // A replaced metric is stale: gone from instant queries, its samples still stored.
            let stale = try await HTTP.get(server.base + "/api/v1/query?query=batch_items_total")
            #expect(try Remote.samples(stale.body).isEmpty)
            let raw = try await HTTP.get(server.base + "/api/v1/query?query=batch_items_total%5B1h%5D")
            // 10 from the PUT, then 12 from the POST, and 12 again whenever the group changed
            // (a failed push sets its push_failure_time_seconds), as a scrape would see it.
            let values = try Remote.samples(raw.body)["__name__=batch_items_total,job=batch,kind=a"]?.map { $0.split(separator: "@").last ?? "" }
            #expect(values?.first == "10" && values?.dropFirst().allSatisfy { $0 == "12" } == true && (values?.count ?? 0) >= 2, "\(raw.body)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Groups survive a restart; a deleted group leaves staleness markers behind.
    @Test func groupsSurviveARestart() async throws {
        let work = try TemporaryDirectory("tsdb-push-restart")
        defer { work.remove() }
        var config = PushConfiguration()
        config.interval = .seconds(3600)
        var server = try await InProcessServer.start(directory: work.path + "/data", push: config)
        let push = PushStep(method: "PUT", path: "/metrics/job/keep", body: "# TYPE kept_total counter\nkept_total 5\n")
        #expect(try await PushScript.send(server.base, push).status == 200)
        #expect(try await PushScript.send(server.base, PushStep(method: "PUT", path: "/metrics/job/gone", body: "gone_metric 1\n")).status == 200)
        #expect(try await PushScript.send(server.base, PushStep(method: "DELETE", path: "/metrics/job/gone")).status == 202)
        await server.stop()
        server = try await InProcessServer.start(directory: work.path + "/data", push: config)
        do {
            let metrics = try await HTTP.get(server.base + "/metrics").body
            #expect(metrics.contains(#"kept_total{instance="",job="keep"} 5"#))
            #expect(!metrics.contains("gone_metric"))
            let instant = try await HTTP.get(server.base + "/api/v1/query?query=kept_total")
            #expect(instant.body.contains(#""5"]"#))
            // Stale: the deleted group's series is gone from an instant query.
            let gone = try await HTTP.get(server.base + "/api/v1/query?query=gone_metric")
            #expect(try Remote.samples(gone.body).isEmpty)
            let raw = try await HTTP.get(server.base + "/api/v1/query?query=gone_metric%5B1h%5D")
            #expect(try Remote.samples(raw.body).values.first?.count == 1)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
