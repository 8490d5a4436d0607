import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import TSDB
import TSDBServer
import TSDBTestSupport

/// The data both servers read: a few metrics over six hours at 15 s, compacted so that
/// blocks exist, plus a head.
enum Fixture {
    /// The last sample's time (ms): 2023-11-14T22:13:20Z.
    static let end: Int64 = 1_700_000_000_000
    static let start: Int64 = end - 6 * 3_600_000
    static let step: Int64 = 15_000

    static func write(to directory: String) throws {
        var options = Options()
        options.compactionEnabled = false
        options.maxFutureSkew = nil
        let db = try DB.open(directory: directory, options: options)
        let jobs = ["api", "web"], instances = ["a:9100", "b:9100", "c:9100"], codes = ["200", "500"]
        var i: Int64 = 0
        var t = start
        while t <= end {
            var app = try db.appender()
            for (j, job) in jobs.enumerated() {
                for (k, instance) in instances.enumerated() {
                    for (c, code) in codes.enumerated() {
                        let labels = try Labels(["__name__": "http_requests_total", "job": job, "instance": instance, "code": code])
                        let rate = Double((j + 1) * (k + 2)) * (c == 0 ? 10 : 0.5)
                        _ = try app.append(labels, timestamp: t, value: Double(i) * rate)
                    }
                    let up = try Labels(["__name__": "up", "job": job, "instance": instance])
                    _ = try app.append(up, timestamp: t, value: (k == 2 && i % 40 < 4) ? 0 : 1)
                    let temp = try Labels(["__name__": "node_temperature_celsius", "job": job, "instance": instance,
                                           "sensor": "cpu<0>&\"x\""])
                    _ = try app.append(temp, timestamp: t, value: 40 + 10 * sin(Double(i) / 30 + Double(k)) + 0.001 * Double(j))
                }
            }
            let small = try Labels(["__name__": "tiny_value", "kind": "small"])
            _ = try app.append(small, timestamp: t, value: 1.5e-9 * Double(i % 7 + 1))
            if i % 100 == 0 {
                let sparse = try Labels(["__name__": "sparse_metric", "env": "prod"])
                _ = try app.append(sparse, timestamp: t, value: i % 200 == 0 ? .infinity : -2.25)
            }
            try app.commit()
            i += 1
            t += step
        }
        try db.compact()
        try db.close()
    }

    static func copy(_ from: String, to: String) throws {
        try Command.run("/bin/cp", ["-a", from, to])
    }
}

/// `tsdb-server`'s API, in process, on 127.0.0.1 and a port the system picks.
final class InProcessServer: @unchecked Sendable {
    let db: DB
    let api: PrometheusAPI
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static func start(directory: String, configure: (inout PrometheusAPI.Configuration) -> Void = { _ in },
                      remote: RemoteConfiguration = RemoteConfiguration(),
                      push: PushConfiguration? = nil) async throws -> InProcessServer {
        // Each server its own registry, as a daemon would have (the process-wide MetricsSystem
        // can be bootstrapped only once).
        let registry = PrometheusCollectorRegistry()
        var options = Options()
        options.metricsFactory = PrometheusMetricsFactory(registry: registry)
        let db = try DB.open(directory: directory, options: options)
        var config = PrometheusAPI.Configuration()
        configure(&config)
        var logger = Logger(label: "test-server")
        logger.logLevel = .warning
        let api = PrometheusAPI(db: db, configuration: config, logger: logger)
        var server = TSDBServer(api: api, remote: remote, registry: registry)
        // The push API as tsdb-server mounts it, when asked for.
        var pushAPI: PushAPI? = nil
        var pushServices: [any Service] = []
        if let push {
            let store = try PushStore(db: db, logger: logger)
            pushAPI = PushAPI(store: store, configuration: push)
            server.metricsSources.append(store)
            pushServices = [PushReappendService(store: store, interval: push.interval)]
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = try server.application(address: .init(host: "127.0.0.1", port: 0), logger: logger, onServerRunning: { port in
            continuation.yield(port)
            continuation.finish()
        }, addRoutes: { router in pushAPI?.addRoutes(to: router) })
        let group = ServiceGroup(configuration: .init(
            services: [DBCloseService(db: db, logger: logger)] + pushServices + [app], logger: logger))
        let task = Task {
            // A server that fails to start ends the wait below.
            defer { continuation.finish() }
            try await group.run()
        }
        var port = 0
        for await p in stream { port = p }
        guard port > 0 else {
            task.cancel()
            throw CommandFailure(description: "the server did not start")
        }
        return InProcessServer(db: db, api: api, port: port, group: group, task: task)
    }

    private init(db: DB, api: PrometheusAPI, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.db = db
        self.api = api
        self.port = port
        self.group = group
        self.task = task
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A real Prometheus 2.42 (Debian's) on a directory, killed by `stop()`.
final class PrometheusServer: @unchecked Sendable {
    let process: Process
    let port: Int
    let logPath: String

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") }

    /// `arguments` are added to the command line; `readinessCredentials` (`user:password`) are
    /// sent with the readiness probe when the web config asks for basic auth.
    static func start(directory: String, work: String, arguments: [String] = [],
                      readinessCredentials: String? = nil, config text: String = "global: {}\n") throws -> PrometheusServer {
        let config = work + "/prometheus.yml"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let port = try freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        p.arguments = ["--storage.tsdb.path=\(directory)", "--config.file=\(config)",
                       "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.retention.time=100y"] + arguments
        let logPath = work + "/prometheus.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let server = PrometheusServer(process: p, port: port, logPath: logPath)
        // Ready within 60 s, or stop it and fail.
        for _ in 0..<600 {
            let auth = readinessCredentials.map { ["-u", $0] } ?? []
            if let r = try? HTTP.curl(auth + ["http://127.0.0.1:\(port)/-/ready"]), r.status == 200 { return server }
            if !p.isRunning { break }
            usleep(100_000)
        }
        server.stop()
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw CommandFailure(description: "prometheus did not become ready: \(text.suffix(2000))")
    }

    private init(process: Process, port: Int, logPath: String) {
        self.process = process
        self.port = port
        self.logPath = logPath
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func stop() {
        if process.isRunning {
            process.terminate()
            for _ in 0..<100 where process.isRunning { usleep(100_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }
}

/// HTTP through curl: status and body.
enum HTTP {
    struct Reply {
        var status: Int
        var body: String
    }

    /// Off the cooperative pool: the in-process server needs its threads to answer.
    static func get(_ url: String) async throws -> Reply {
        try await offPool { try curl(["-g", url]) }
    }

    static func getSync(_ url: String) throws -> Reply {
        try curl(["-g", url])
    }

    static func post(_ url: String, body: String) async throws -> Reply {
        try await offPool { try postSync(url, body: body) }
    }

    /// A form POST (`application/x-www-form-urlencoded`) with `body` as is.
    static func postSync(_ url: String, body: String) throws -> Reply {
        let file = NSTemporaryDirectory() + "post-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try body.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try curl(["-g", "-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary", "@\(file)", url])
    }

    static func curl(_ args: [String]) throws -> Reply {
        let r = try Command.runStatus("/usr/bin/curl", ["-s", "-m", "60", "-w", "\n%{http_code}"] + args)
        guard r.status == 0 else { throw CommandFailure(description: "curl \(args) exited \(r.status): \(r.stderr)") }
        guard let nl = r.stdout.lastIndex(of: "\n"), let code = Int(r.stdout[r.stdout.index(after: nl)...]) else {
            throw CommandFailure(description: "curl output without a status: \(r.stdout)")
        }
        return Reply(status: code, body: String(r.stdout[..<nl]))
    }
}

/// HTTP/1.1 GETs over plain sockets to 127.0.0.1:`port`, all open at once: each request
/// is sent as its connection opens, and the statuses are read after the last one. nil where a
/// connection failed or got no answer.
func concurrentGets(port: Int, paths: [String]) -> [Int?] {
    var fds: [Int32] = []
    defer { for fd in fds where fd >= 0 { close(fd) } }
    for _ in paths {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        if fd >= 0 { setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = fd >= 0 && withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
        fds.append(connected ? fd : -1)
        if !connected && fd >= 0 { close(fd) }
        // Sent at once, as a client does: past --web.max-connections the server accepts
        // more only as it finishes these.
        if connected {
            let request = Array("GET \(paths[fds.count - 1]) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        }
    }
    // Each closed once read, as clients do: the server counts a connection it has answered
    // (and half-closed) against --web.max-connections until the client closes its side.
    return fds.indices.map { i -> Int? in
        let fd = fds[i]
        guard fd >= 0 else { return nil }
        defer {
            close(fd)
            fds[i] = -1
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while reply.count < 12 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            reply.append(contentsOf: buffer[0..<n])
        }
        let head = String(decoding: reply.prefix(12), as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(head.dropFirst(9).prefix(3))
    }
}
