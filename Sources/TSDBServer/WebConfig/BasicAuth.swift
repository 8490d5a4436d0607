import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import Synchronization

/// Checks `Authorization: Basic` against the web config's bcrypt hashes, as exporter-toolkit's
/// `webHandler` does: one bcrypt at a time (it is slow by design, ~100 ms at cost 10), off
/// Swift's cooperative pool, and the outcome of each (user, password) remembered, so a client
/// sending the same credentials again costs a dictionary look-up. An unknown user is checked
/// against a fixed hash, so timing does not tell which users exist.
final class BasicAuthenticator: Sendable {
    let users: [String: String]
    private let cache = Mutex<[String: Bool]>([:])
    private let queue = DispatchQueue(label: "tsdb-server.bcrypt")
    /// exporter-toolkit's cache size; past it a tenth of the entries go.
    static let cacheSize = 100
    /// bcrypt of "fakepassword", exporter-toolkit's stand-in for unknown users.
    static let fakeHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

    init(users: [String: String]) {
        self.users = users
    }

    /// bcrypt's `$2a$`, `$2b$`, `$2y$` with a two-digit cost and 53 characters of salt and hash.
    static func isBcryptHash(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 60, b[0] == 0x24, b[1] == 0x32, [0x61, 0x62, 0x79].contains(b[2]), b[3] == 0x24,
              (0x30...0x39).contains(b[4]), (0x30...0x39).contains(b[5]), b[6] == 0x24 else { return false }
        let cost = Int(b[4] - 0x30) * 10 + Int(b[5] - 0x30)
        guard (4...31).contains(cost) else { return false }
        return b[7...].allSatisfy { c in
            c == 0x2E || c == 0x2F || (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
        }
    }

    /// Whether the request's credentials are a configured user's.
    func authenticate(_ authorization: String?) async -> Bool {
        guard let (user, password) = Self.basicCredentials(authorization) else { return false }
        let known = users[user]
        let hash = known ?? Self.fakeHash
        // Keyed as exporter-toolkit keys it: user, hash and password, each hex so ':' cannot collide.
        let key = [user, hash, password].map { Self.hex($0) }.joined(separator: ":")
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let matches = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            queue.async {
                // CBcrypt knows `$2a$` and `$2b$`; `$2y$` (htpasswd's) is the same algorithm as `$2b$`.
                var h = hash
                if h.hasPrefix("$2y$") { h = "$2b$" + h.dropFirst(4) }
                c.resume(returning: Bcrypt.verify(password, hash: h))
            }
        }
        let ok = known != nil && matches
        cache.withLock { c in
            if c.count >= Self.cacheSize {
                for k in c.keys.shuffled().prefix(c.count / 10) { c.removeValue(forKey: k) }
            }
            c[key] = ok
        }
        return ok
    }

    /// Go's `Request.BasicAuth`: `Basic ` (any case) then base64 of `user:password`.
    static func basicCredentials(_ header: String?) -> (String, String)? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6))),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    static func hex(_ s: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count * 2)
        for b in s.utf8 {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The web config's headers on every response, and basic auth in front of every route:
/// exporter-toolkit's `webHandler`. Without users it only sets headers.
struct WebConfigMiddleware<Context: RequestContext>: RouterMiddleware {
    let headers: [(name: HTTPField.Name, value: String)]
    let authenticator: BasicAuthenticator?

    init(_ config: WebConfig) {
        headers = config.headers.compactMap { h in HTTPField.Name(h.name).map { ($0, h.value) } }
        authenticator = config.basicAuthUsers.isEmpty ? nil : BasicAuthenticator(users: config.basicAuthUsers)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        if let authenticator, await !authenticator.authenticate(request.headers[.authorization]) {
            // Go's http.Error(w, "Unauthorized", 401).
            response = Response(status: .unauthorized,
                                headers: [.wwwAuthenticate: "Basic", .contentType: "text/plain; charset=utf-8",
                                          HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
                                body: .init(byteBuffer: ByteBuffer(string: "Unauthorized\n")))
        } else {
            response = try await next(request, context)
        }
        for h in headers { response.headers[h.name] = h.value }
        return response
    }
}
