import AsyncHTTPClient
import NIOSSL
import RemoteProtocol
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSTs remote-write requests to one endpoint, as Prometheus's `remote.Client.Store`.
/// Thread-safe; shut it down with ``shutdown()``.
final class RemoteClient: Sendable {
    enum Outcome: Sendable, Equatable {
        case accepted
        /// 5xx, 429 or a connection error: send again, after `retryAfter` seconds if given.
        case recoverable(retryAfter: Double?, reason: String)
        /// Any other status: the receiver will never take these samples.
        case refused(status: Int, reason: String)
    }

    private let http: HTTPClient
    private let url: String
    private let headers: [(String, String)]

    init(endpoint: RemoteWriteEndpoint, userAgent: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = endpoint.tls.caFile { tls.trustRoots = .file(ca) }
        if endpoint.tls.insecureSkipVerify { tls.certificateVerification = .none }
        var config = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                              timeout: .init(connect: .seconds(10), read: .seconds(30)))
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: endpoint.queue.maxShards)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        url = endpoint.url
        var h: [(String, String)] = endpoint.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        h.append(("Content-Encoding", "snappy"))
        h.append(("Content-Type", "application/x-protobuf"))
        h.append(("User-Agent", userAgent))
        h.append(("X-Prometheus-Remote-Write-Version", "0.1.0"))
        switch endpoint.authorization {
        case .basic(let user, let password)?: h.append(("Authorization", "Basic " + Base64.encode(Array((user + ":" + password).utf8))))
        case .bearer(let token)?: h.append(("Authorization", "Bearer " + token))
        case nil: break
        }
        headers = h
    }

    /// Sends one snappy-compressed `WriteRequest`.
    func store(_ body: [UInt8]) async -> Outcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        do {
            let response = try await http.execute(request, timeout: .seconds(60))
            let status = Int(response.status.code)
            let text = try await response.body.collect(upTo: 1024 * 1024)
            let message = String(decoding: text.readableBytesView.prefix(512), as: UTF8.self)
            if (200..<300).contains(status) { return .accepted }
            let reason = "server returned HTTP status \(status): \(message)"
            if status >= 500 || status == 429 {
                return .recoverable(retryAfter: response.headers.first(name: "Retry-After").flatMap { RetryAfter.seconds($0) }, reason: reason)
            }
            return .refused(status: status, reason: reason)
        } catch {
            return .recoverable(retryAfter: nil, reason: "\(error)")
        }
    }

    func shutdown() async {
        try? await http.shutdown()
    }
}

/// The `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
enum RetryAfter {
    /// Seconds to wait from now, or nil when unparseable (the backoff applies then).
    static func seconds(_ value: String, now: Int = Int(time(nil))) -> Double? {
        let v = value.trimmingCharacters()
        if !v.isEmpty, v.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return Int(v).map { Double($0) } }
        guard let t = httpDate(v) else { return nil }
        return Double(Swift.max(0, t - now))
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate) as Unix seconds.
    static func httpDate(_ s: String) -> Int? {
        let parts = s.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let year = Int(parts[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let m = months.firstIndex(of: String(parts[2])) else { return nil }
        let hms = parts[4].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3, (1...31).contains(day), (0...23).contains(hms[0]), (0...59).contains(hms[1]), (0...60).contains(hms[2]),
              (1970...9999).contains(year) else { return nil }
        return (daysFromCivil(year: year, month: m + 1, day: day) * 86400) + hms[0] * 3600 + hms[1] * 60 + hms[2]
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Standard base64 with padding, for basic auth.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
