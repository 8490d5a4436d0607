import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RemoteProtocol
import SwiftProtobuf
import Synchronization
import TSDB
import TSDBTestSupport
@testable import RemoteWrite

struct TestFailure: Error, CustomStringConvertible { let description: String }

/// One sample as a receiver got it, keyed by its series.
struct ReceivedSample: Hashable, Comparable, CustomStringConvertible {
    var series: String
    var timestamp: Int64
    var valueBits: UInt64

    static func < (a: ReceivedSample, b: ReceivedSample) -> Bool {
        (a.series, a.timestamp, a.valueBits) < (b.series, b.timestamp, b.valueBits)
    }

    var description: String { "\(series) \(Double(bitPattern: valueBits)) @\(timestamp)" }
}

/// A tiny remote-write receiver (Hummingbird) whose answers a test scripts: each request
/// takes the next scripted status (then 204 forever), and what was answered 2xx is kept.
final class ScriptedReceiver: Sendable {
    struct Reply: Sendable {
        var status: Int
        var retryAfter: String? = nil
    }

    private struct State {
        var script: [Reply] = []
        var accepted: [ReceivedSample] = []
        var requests = 0
        var requestTimes: [ContinuousClock.Instant] = []
        var headers: [String: String] = [:]
        /// Series whose samples the receiver refuses with 400 (by `__name__`).
        var refuseNames: Set<String> = []
        var delay = Duration.zero
    }

    private let state = Mutex(State())
    let port: Int
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)/api/v1/write" }

    /// Starts on `port` (0: one the system picks), e.g. the port of a stopped receiver to
    /// bring it back.
    static func start(port requested: Int = 0) async throws -> ScriptedReceiver {
        let box = Mutex<ScriptedReceiver?>(nil)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let router = Router()
        router.post("/api/v1/write") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 64 << 20)
            let bytes = Array(buffer.readableBytesView)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            guard let receiver = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            let delay = receiver.responseDelay
            if delay > .zero { try await Task.sleep(for: delay) }
            return receiver.answer(body: bytes, headers: headers)
        }
        var logger = Logger(label: "scripted-receiver")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: requested)),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? 0)
                                  continuation.finish()
                              }, logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        var port = 0
        for await p in stream { port = p }
        guard port > 0 else {
            task.cancel()
            throw TestFailure(description: "the receiver did not start")
        }
        let receiver = ScriptedReceiver(port: port, task: task)
        box.withLock { $0 = receiver }
        return receiver
    }

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    func script(_ replies: [Reply]) { state.withLock { $0.script = replies } }
    func refuse(names: Set<String>) { state.withLock { $0.refuseNames = names } }
    /// Each request is answered after this long.
    var responseDelay: Duration {
        get { state.withLock { $0.delay } }
        set { state.withLock { $0.delay = newValue } }
    }

    var accepted: [ReceivedSample] { state.withLock { $0.accepted } }
    var requests: Int { state.withLock { $0.requests } }
    var requestTimes: [ContinuousClock.Instant] { state.withLock { $0.requestTimes } }
    var lastHeaders: [String: String] { state.withLock { $0.headers } }

    private func answer(body: [UInt8], headers: [String: String]) -> Response {
        let decoded: Prometheus_WriteRequest
        do {
            decoded = try Prometheus_WriteRequest(serializedBytes: try SnappyBody.decode(body, limit: 64 << 20))
        } catch {
            return Response(status: .badRequest)
        }
        return state.withLock { st -> Response in
            st.requests += 1
            st.requestTimes.append(.now)
            st.headers = headers
            if !st.script.isEmpty {
                let reply = st.script.removeFirst()
                if !(200..<300).contains(reply.status) {
                    var fields = HTTPFields()
                    if let r = reply.retryAfter { fields[.retryAfter] = r }
                    return Response(status: .init(code: reply.status), headers: fields)
                }
            }
            let names = decoded.timeseries.compactMap { ts in ts.labels.first { $0.name == "__name__" }?.value }
            if names.contains(where: st.refuseNames.contains) { return Response(status: .badRequest) }
            for ts in decoded.timeseries {
                let key = ts.labels.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",")
                for s in ts.samples {
                    st.accepted.append(ReceivedSample(series: "{" + key + "}", timestamp: s.timestamp, valueBits: s.value.bitPattern))
                }
            }
            return Response(status: .noContent)
        }
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// A real Prometheus 2.42 with its remote-write receiver on, on a free port; `stop()` ends it.
final class PrometheusReceiver: @unchecked Sendable {
    let process: Process
    let port: Int
    let logPath: String

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") }

    /// Starts Prometheus as a remote-write receiver. With `webConfig` (the text of a
    /// `--web.config.file`), `scheme` and `curlOptions` (say `--cacert` and `-u`) are how
    /// the test itself reaches it.
    static func start(work: String, webConfig: String? = nil, scheme: String = "http",
                      curlOptions: [String] = []) throws -> PrometheusReceiver {
        let config = work + "/prometheus.yml"
        try "global: {}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let port = try freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        p.arguments = ["--storage.tsdb.path=\(work)/prom-data", "--config.file=\(config)", "--web.enable-remote-write-receiver",
                       "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.retention.time=100y"]
        if let webConfig {
            let file = work + "/prometheus-web.yml"
            try webConfig.write(toFile: file, atomically: true, encoding: .utf8)
            p.arguments! += ["--web.config.file=\(file)"]
        }
        let logPath = work + "/prometheus.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let server = PrometheusReceiver(process: p, port: port, logPath: logPath, base: "\(scheme)://127.0.0.1:\(port)",
                                        curlOptions: curlOptions)
        for _ in 0..<600 {
            if let r = try? curl(curlOptions + [server.base + "/-/ready"]), r.status == 200 { return server }
            if !p.isRunning { break }
            usleep(100_000)
        }
        server.stop()
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw TestFailure(description: "prometheus did not become ready: \(text.suffix(2000))")
    }

    let base: String
    let curlOptions: [String]

    private init(process: Process, port: Int, logPath: String, base: String, curlOptions: [String]) {
        self.process = process
        self.port = port
        self.logPath = logPath
        self.base = base
        self.curlOptions = curlOptions
    }

    var writeURL: String { base + "/api/v1/write" }

    /// Every raw sample of the series matching `selector`, through an instant query of a
    /// range selector (raw samples, not evaluated steps) at `time` (ms).
    func rawSamples(_ selector: String, range: String, time: Int64) throws -> [ReceivedSample] {
        let query = "\(selector)[\(range)]"
        let r = try Self.curl(curlOptions + ["-G", base + "/api/v1/query", "--data-urlencode", "query=\(query)",
                               "--data-urlencode", "time=\(Double(time) / 1000)"])
        guard r.status == 200, let json = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
              let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
            throw TestFailure(description: "query \(query) failed: \(r.status) \(r.body.prefix(500))")
        }
        var out: [ReceivedSample] = []
        for series in result {
            guard let metric = series["metric"] as? [String: String], let values = series["values"] as? [[Any]] else { continue }
            let key = metric.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
            for v in values {
                guard v.count == 2, let t = v[0] as? Double, let s = v[1] as? String, let value = Double(s) else {
                    throw TestFailure(description: "unexpected sample \(v)")
                }
                out.append(ReceivedSample(series: "{" + key + "}", timestamp: Int64((t * 1000).rounded()), valueBits: value.bitPattern))
            }
        }
        return out
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            for _ in 0..<100 where process.isRunning { usleep(100_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }

    static func curl(_ args: [String]) throws -> (status: Int, body: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-s", "-g", "-m", "60", "-w", "\n%{http_code}"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0, let nl = text.lastIndex(of: "\n"), let code = Int(text[text.index(after: nl)...]) else {
            throw TestFailure(description: "curl \(args) failed: \(text.suffix(300))")
        }
        return (code, String(text[..<nl]))
    }
}


/// Appends `seriesCount` series × `samplesPerSeries` samples (one commit per timestamp),
/// starting at `start` ms, every `step` ms; returns what it appended, as a receiver keys it.
@discardableResult
func appendSamples(_ db: DB, name: String = "rw_test", seriesCount: Int, samplesPerSeries: Int, start: Int64, step: Int64 = 1000,
                   valueOffset: Int = 0) throws -> [ReceivedSample] {
    var out: [ReceivedSample] = []
    for i in 0..<samplesPerSeries {
        var app = try db.appender()
        let t = start + Int64(i) * step
        for s in 0..<seriesCount {
            let labels = try Labels(["__name__": name, "instance": "host-\(s)", "job": "rw"])
            let value = Double(s * 1000 + i + valueOffset) + 0.25
            _ = try app.append(labels, timestamp: t, value: value)
            out.append(ReceivedSample(series: key(labels), timestamp: t, valueBits: value.bitPattern))
        }
        try app.commit()
    }
    return out
}

func key(_ labels: Labels) -> String {
    "{" + labels.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",") + "}"
}

/// Waits until `condition` holds, polling every 20 ms, for at most `seconds`.
func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
    let end = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Settings that make tests fast: short deadlines and polls.
func fastQueue(_ configure: (inout QueueSettings) -> Void = { _ in }) -> QueueSettings {
    var q = QueueSettings()
    q.batchSendDeadline = 0.05
    q.pollInterval = 0.02
    q.positionSaveInterval = 0.05
    q.flushDeadline = 5
    q.minBackoff = 0.01
    q.maxBackoff = 0.2
    configure(&q)
    return q
}

func quietLogger() -> Logger {
    var l = Logger(label: "remote-write-test")
    l.logLevel = .critical
    return l
}
