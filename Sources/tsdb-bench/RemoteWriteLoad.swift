import ArgumentParser
import Dispatch
import Foundation
import RemoteProtocol
import Synchronization

/// `tsdb-bench remote-write`: identical remote-write traffic for any receiver (tsdb-server,
/// Prometheus with `--web.enable-remote-write-receiver`, VictoriaMetrics), and the samples
/// per second it accepted.
///
/// Every request is built, protobuf-encoded and snappy-compressed before the clock starts,
/// so the receiver's work is what is timed. `--series` series get one sample per round,
/// `--samples-per-request` series to a request; connection `c` sends the blocks
/// `c, c + C, …` of every round in order, so each series' samples arrive in order.
struct RemoteWriteLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote-write",
        abstract: "Send remote-write traffic to a receiver and print accepted samples per second.")

    @Option(help: "The receiver, e.g. http://127.0.0.1:9090/api/v1/write.")
    var url: String

    @Option(help: "Series written.")
    var series = 100_000

    @Option(help: "Samples (one per series) in each request.")
    var samplesPerRequest = 500

    @Option(help: "Connections sending at once.")
    var concurrency = 8

    @Option(help: "Samples per series: the number of rounds, 15 s apart.")
    var rounds = 10

    @Option(help: "Stop after this many seconds even if rounds remain (0: no limit).")
    var duration: Double = 0

    func validate() throws {
        guard series > 0, samplesPerRequest > 0, concurrency > 0, rounds > 0 else {
            throw ValidationError("--series, --samples-per-request, --concurrency and --rounds must be positive")
        }
    }

    func run() throws {
        let target = try HTTPTarget(url)
        let blocks = (series + samplesPerRequest - 1) / samplesPerRequest
        // Timestamps end a minute before now: inside every receiver's accepted window.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let t0 = now - Int64(rounds) * 15_000 - 60_000
        let buildStart = Date()
        let labels = (0..<series).map(Self.labels)
        // requests[c]: connection c's bodies and their sample counts, in sending order.
        var requests = [[(body: [UInt8], samples: Int)]](repeating: [], count: concurrency)
        var bytes = 0
        for r in 0..<rounds {
            for b in 0..<blocks {
                var w = Prometheus_WriteRequest()
                let range = (b * samplesPerRequest)..<min(series, (b + 1) * samplesPerRequest)
                w.timeseries = range.map { i in
                    var ts = Prometheus_TimeSeries()
                    ts.labels = labels[i]
                    var s = Prometheus_Sample()
                    s.timestamp = t0 + Int64(r) * 15_000
                    s.value = Double(i % 1000) * Double(r + 1)
                    ts.samples = [s]
                    return ts
                }
                let body = SnappyBody.encode(try w.serializedBytes())
                bytes += body.count
                requests[b % concurrency].append((body, range.count))
            }
        }
        print("built \(rounds * blocks) requests (\(bytes / 1024) KiB compressed) for \(series) series × \(rounds) rounds in \(String(format: "%.1f", Date().timeIntervalSince(buildStart))) s")

        let results = Mutex<[Int: Int]>([:])
        let accepted = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let deadline = duration > 0 ? DispatchTime.now().uptimeNanoseconds + UInt64(duration * 1e9) : UInt64.max
        let start = DispatchTime.now().uptimeNanoseconds
        let bodies = requests
        DispatchQueue.concurrentPerform(iterations: concurrency) { c in
            var connection: HTTPConnection? = nil
            var codes: [Int: Int] = [:]
            for (body, samples) in bodies[c] {
                if DispatchTime.now().uptimeNanoseconds > deadline { break }
                do {
                    if connection == nil { connection = try HTTPConnection(target) }
                    let status = try connection!.post(target, body: body)
                    codes[status, default: 0] += 1
                    if (200..<300).contains(status) {
                        accepted.add(samples, ordering: .relaxed)
                    }
                } catch {
                    connection = nil
                    codes[0, default: 0] += 1
                    failures.withLock { if $0.count < 5 { $0.append("\(error)") } }
                }
            }
            let mine = codes
            results.withLock { all in for (k, v) in mine { all[k, default: 0] += v } }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let n = accepted.load(ordering: .relaxed)
        let statuses = results.withLock { $0 }.sorted { $0.key < $1.key }.map { "\($0.key == 0 ? "error" : String($0.key)): \($0.value)" }
        print("statuses: \(statuses.joined(separator: ", "))")
        for f in failures.withLock({ $0 }) { print("failure: \(f)") }
        print(String(format: "accepted %d samples in %.2f s", n, elapsed))
        print(String(format: " > samples/sec: %.0f", Double(n) / elapsed))
    }

    /// Series `i`'s labels, sorted by name: 10 metric names over node-exporter-like targets.
    static func labels(_ i: Int) -> [Prometheus_Label] {
        let names = ["node_cpu_seconds_total", "node_memory_bytes", "node_disk_io_seconds_total",
                     "node_network_receive_bytes_total", "node_filesystem_avail_bytes", "http_requests_total",
                     "http_request_duration_seconds_sum", "process_resident_memory_bytes", "go_goroutines",
                     "up_status"]
        func label(_ n: String, _ v: String) -> Prometheus_Label {
            var l = Prometheus_Label()
            l.name = n
            l.value = v
            return l
        }
        return [
            label("__name__", names[i % names.count]),
            label("instance", "host-\(i / 100).example.internal:9100"),
            label("job", "node"),
            label("series", String(i % 100 / 10)),
            label("shard", String(i / 10 % 10)),
        ]
    }

}

/// `http://host:port/path`, resolved once.
struct HTTPTarget {
    var host: String
    var port: UInt16
    var path: String
    var address: sockaddr_in

    init(_ url: String) throws {
        guard url.hasPrefix("http://") else { throw ValidationError("only http:// URLs are supported: \(url)") }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let hostPort = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        let parts = hostPort.split(separator: ":")
        host = String(parts.first ?? "127.0.0.1")
        guard parts.count == 2, let p = UInt16(parts[1]) else { throw ValidationError("the URL needs host:port: \(url)") }
        port = p
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = p.bigEndian
        let resolved = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, resolved, &addr.sin_addr) == 1 else { throw ValidationError("an IPv4 address is needed: \(host)") }
        address = addr
    }
}

/// One keep-alive HTTP/1.1 connection over a blocking socket: a POST and its status.
final class HTTPConnection {
    struct Failure: Error, CustomStringConvertible { var description: String }

    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(_ target: HTTPTarget) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = target.address
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(fd)
            throw Failure(description: "connect to \(target.host):\(target.port): errno \(errno)")
        }
    }

    deinit { close(fd) }

    func post(_ target: HTTPTarget, body: [UInt8]) throws -> Int {
        let head = "POST \(target.path) HTTP/1.1\r\nHost: \(target.host):\(target.port)\r\n"
            + "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
            + "X-Prometheus-Remote-Write-Version: 0.1.0\r\nUser-Agent: tsdb-bench\r\n"
            + "Content-Length: \(body.count)\r\n\r\n"
        try send(Array(head.utf8))
        try send(body)
        return try readResponse()
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
    }

    /// Reads the status line and headers, then the body by Content-Length (or chunks).
    private func readResponse() throws -> Int {
        var data: [UInt8] = []
        var headerEnd: Int? = nil
        while headerEnd == nil {
            try fill(&data)
            headerEnd = Self.find([13, 10, 13, 10], in: data)
        }
        let head = String(decoding: data[..<headerEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
              let status = Int(statusLine.dropFirst(9).prefix(3)) else {
            throw Failure(description: "not an HTTP answer: \(head.prefix(80))")
        }
        var length = 0
        var chunked = false
        for line in lines.dropFirst() {
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
        }
        var bodyBytes = Array(data[(headerEnd! + 4)...])
        if chunked {
            // Enough for the short error texts receivers send: read to the final 0-chunk.
            while Self.find(Array("0\r\n\r\n".utf8), in: bodyBytes) == nil { try fill(&bodyBytes) }
        } else {
            while bodyBytes.count < length { try fill(&bodyBytes) }
        }
        return status
    }

    private func fill(_ data: inout [UInt8]) throws {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: n == 0 ? "connection closed" : "recv: errno \(errno)") }
        data.append(contentsOf: buffer[0..<n])
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
