import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A Prometheus 2.42 server on a data directory, on a free loopback port, for the
/// differential test. It runs under a small shell watchdog that kills it when this test
/// process goes away, even by a trap, so no server outlives the test.
final class PrometheusServer {
    static let binary = "/usr/bin/prometheus"

    struct Failure: Error, CustomStringConvertible { let description: String }

    let port: UInt16
    let logPath: String
    private let process: Process

    /// Starts the server on `dataDirectory` and waits until `/-/ready` answers 200.
    init(dataDirectory: String, workDirectory: String, readyTimeout: Double = 90) throws {
        port = try Self.freePort()
        logPath = workDirectory + "/prometheus.log"
        let config = workDirectory + "/prometheus.yml"
        // No scrape configs: the server only answers queries over the blocks.
        try "global:\n  scrape_interval: 1h\n".write(toFile: config, atomically: true, encoding: .utf8)
        let args = [
            "--storage.tsdb.path=\(dataDirectory)", "--config.file=\(config)",
            "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.retention.time=100y",
            // Blocks are left as they are: no compaction runs while the test queries.
            "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h",
            "--query.lookback-delta=5m", "--query.max-samples=50000000", "--query.timeout=2m",
        ]
        let watchdog = """
            "$0" "$@" & p=$!
            trap 'kill $p 2>/dev/null; wait $p; exit 0' TERM INT
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 1; done
            kill $p 2>/dev/null; wait $p
            """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", watchdog, Self.binary] + args
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw Failure(description: "cannot create \(logPath)")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(readyTimeout)
        while Date() < deadline {
            if !process.isRunning { break }
            if let r = try? get("/-/ready"), r.status == 200 { return }
            usleep(200_000)
        }
        stop()
        let tail = (try? String(contentsOfFile: logPath, encoding: .utf8)).map { String($0.suffix(3_000)) } ?? ""
        throw Failure(description: "prometheus did not become ready on port \(port): \(tail)")
    }

    /// Stops the server (SIGTERM to the watchdog, SIGKILL after 15 s). Harmless twice.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// A port nobody listens on now: bound to 127.0.0.1:0 and released.
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "bind: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw Failure(description: "getsockname: errno \(errno)") }
        return UInt16(bigEndian: addr.sin_port)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return addr
    }

    /// GET `path` over HTTP/1.0 (so the body is neither chunked nor kept alive).
    func get(_ path: String) throws -> (status: Int, body: [UInt8]) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 150, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = Self.loopback(port: port)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to port \(port): errno \(errno)") }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nAccept: application/json\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else {
                if errno == EINTR { continue }
                throw Failure(description: "recv: errno \(errno)")
            }
            response.append(contentsOf: buffer[0..<n])
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = response.indices.first(where: { response[$0...].starts(with: separator) }) else {
            throw Failure(description: "malformed HTTP response from prometheus")
        }
        let statusLine = String(decoding: response[..<headerEnd], as: UTF8.self).split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw Failure(description: "malformed HTTP status line from prometheus")
        }
        return (status, Array(response[(headerEnd + 4)...]))
    }

    /// Percent-encodes a query-string value (everything but RFC 3986's unreserved characters).
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }
}
