import Foundation
import TSDB
import Yams

/// Prometheus's web configuration file (`--web.config.file`), in exporter-toolkit 0.8's format:
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.crt        # relative paths are relative to this file's directory
///   key_file: server.key
///   min_version: TLS12           # TLS10, TLS11, TLS12 (default), TLS13
///   client_auth_type: RequireAndVerifyClientCert
///   client_ca_file: clients.pem
/// http_server_config:
///   headers:
///     X-Frame-Options: deny
/// basic_auth_users:
///   alice: $2y$10$...            # bcrypt hashes
/// ```
///
/// Read once at start-up (exporter-toolkit re-reads it for every request and connection).
public struct WebConfig: Sendable {
    public struct TLSServer: Sendable {
        public var certFile: String
        public var keyFile: String
        public var clientAuthType: ClientAuth = .noClientCert
        public var clientCAFile: String?
        public var minVersion: TLSVersion = .tls12
        public var maxVersion: TLSVersion = .tls13
        /// IANA code points of `cipher_suites` (TLS 1.2 and below; TLS 1.3's are fixed).
        public var cipherSuites: [UInt16] = []
        /// IANA code points of `curve_preferences`.
        public var curves: [UInt16] = []
    }

    /// Go's `tls.ClientAuthType`, as exporter-toolkit spells it.
    public enum ClientAuth: String, Sendable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"
    }

    public enum TLSVersion: String, Sendable, Comparable {
        case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

        var order: Int { [.tls10: 0, .tls11: 1, .tls12: 2, .tls13: 3][self] ?? 0 }
        public static func < (a: TLSVersion, b: TLSVersion) -> Bool { a.order < b.order }
    }

    /// nil serves plain HTTP (exporter-toolkit's "TLS is disabled").
    public var tls: TLSServer?
    /// User name → bcrypt hash; empty means no authentication.
    public var basicAuthUsers: [String: String] = [:]
    /// `http_server_config.headers`, set on every response.
    public var headers: [(name: String, value: String)] = []
    /// `http_server_config.http2`; accepted, but the server speaks HTTP/1.1 only.
    public var http2 = true

    public init() {}

    /// Reads and checks `path`. The error names the file, the line and the key.
    public static func load(path: String) throws(WebConfigError) -> WebConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw WebConfigError(file: path, message: "cannot read the file: \(error.localizedDescription)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(text, file: path, directory: directory.isEmpty ? "." : directory)
    }

    /// Parses the YAML strictly, as `yaml.UnmarshalStrict` does: unknown keys are errors.
    public static func parse(_ text: String, file: String, directory: String) throws(WebConfigError) -> WebConfig {
        let p = ConfigParser(file: file)
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw WebConfigError(file: file, message: "\(error)")
        }
        var config = WebConfig()
        guard let root else { return config }
        for (key, value) in try p.mapping(root, type: "web.Config") {
            switch key {
            case "tls_server_config": config.tls = try p.tlsServer(value, directory: directory)
            case "http_server_config":
                for (k, v) in try p.mapping(value, type: "web.HTTPConfig") {
                    switch k {
                    case "http2": config.http2 = try p.bool(v, "http_server_config.http2")
                    case "headers":
                        for (name, header) in try p.stringMap(v, "http_server_config.headers") {
                            try p.checkHeader(name, header.value, header.node)
                            config.headers.append((name, header.value))
                        }
                    default: throw p.unknown(k, v, "web.HTTPConfig")
                    }
                }
            case "basic_auth_users":
                for (user, hash) in try p.stringMap(value, "basic_auth_users") {
                    guard BasicAuthenticator.isBcryptHash(hash.value) else {
                        throw p.error(hash.node, "basic_auth_users: the password of user \(goQuote(user)) is not a bcrypt hash")
                    }
                    config.basicAuthUsers[user] = hash.value
                }
            default: throw p.unknown(key, value, "web.Config")
            }
        }
        return config
    }
}

/// A web configuration file that cannot be used: which file, and why (with the line and key).
public struct WebConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var message: String

    public var description: String { "web config file \(goQuote(file)): \(message)" }
}

/// Walks the YAML nodes, naming lines and keys in its errors.
struct ConfigParser {
    let file: String

    func error(_ node: Node?, _ message: String) -> WebConfigError {
        let line = node?.mark.map { "line \($0.line): " } ?? ""
        return WebConfigError(file: file, message: line + message)
    }

    func unknown(_ key: String, _ node: Node, _ type: String) -> WebConfigError {
        error(node, "field \(key) not found in type \(type)")
    }

    /// A mapping's entries in file order; an empty value (`key:`) is an empty mapping.
    func mapping(_ node: Node, type: String) throws(WebConfigError) -> [(String, Node)] {
        if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
        guard case .mapping(let m) = node else { throw error(node, "\(type) must be a mapping") }
        var out: [(String, Node)] = []
        var seen = Set<String>()
        for (k, v) in m {
            guard case .scalar(let name) = k else { throw error(k, "keys of \(type) must be strings") }
            guard seen.insert(name.string).inserted else { throw error(k, "key \(goQuote(name.string)) already set in \(type)") }
            out.append((name.string, v))
        }
        return out
    }

    func string(_ node: Node, _ key: String) throws(WebConfigError) -> String {
        guard case .scalar(let s) = node else { throw error(node, "\(key) must be a string") }
        if s.string == "~" || s.string == "null" { return "" }
        return s.string
    }

    func bool(_ node: Node, _ key: String) throws(WebConfigError) -> Bool {
        guard case .scalar(let s) = node else { throw error(node, "\(key) must be true or false") }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, "\(key) must be true or false, not \(goQuote(s.string))")
        }
    }

    func stringList(_ node: Node, _ key: String) throws(WebConfigError) -> [(String, Node)] {
        if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
        guard case .sequence(let seq) = node else { throw error(node, "\(key) must be a list") }
        var out: [(String, Node)] = []
        for item in seq { out.append((try string(item, key), item)) }
        return out
    }

    func stringMap(_ node: Node, _ key: String) throws(WebConfigError) -> [(String, (value: String, node: Node))] {
        var out: [(String, (value: String, node: Node))] = []
        for (k, v) in try mapping(node, type: key) { out.append((k, (try string(v, key + "." + k), v))) }
        return out
    }

    /// Joins a relative path to the file's directory, as `config_util.JoinDir` does.
    func path(_ node: Node, _ key: String, _ directory: String) throws(WebConfigError) -> String {
        let p = try string(node, key)
        if p.isEmpty || p.hasPrefix("/") { return p }
        return directory + "/" + p
    }

    func tlsServer(_ node: Node, directory: String) throws(WebConfigError) -> WebConfig.TLSServer? {
        var cert = "", key = "", clientAuth = "", clientCA = ""
        var certNode: Node? = nil, keyNode: Node? = nil, authNode: Node? = nil
        var t = WebConfig.TLSServer(certFile: "", keyFile: "")
        for (k, v) in try mapping(node, type: "web.TLSConfig") {
            let name = "tls_server_config." + k
            switch k {
            case "cert_file": cert = try path(v, name, directory); certNode = v
            case "key_file": key = try path(v, name, directory); keyNode = v
            case "client_auth_type": clientAuth = try string(v, name); authNode = v
            case "client_ca_file": clientCA = try path(v, name, directory)
            case "min_version", "max_version":
                let text = try string(v, name)
                guard let version = WebConfig.TLSVersion(rawValue: text) else {
                    throw error(v, "\(name): unknown TLS version: \(text)")
                }
                if k == "min_version" { t.minVersion = version } else { t.maxVersion = version }
            case "cipher_suites":
                for (text, item) in try stringList(v, name) {
                    guard let id = Self.ciphers[text] else { throw error(item, "\(name): unknown cipher: \(text)") }
                    t.cipherSuites.append(id)
                }
            case "curve_preferences":
                for (text, item) in try stringList(v, name) {
                    guard let id = Self.curves[text] else { throw error(item, "\(name): unknown curve: \(text)") }
                    t.curves.append(id)
                }
            case "prefer_server_cipher_suites": _ = try bool(v, name)
            default: throw unknown(k, v, "web.TLSConfig")
            }
        }
        // exporter-toolkit's ConfigToTLSConfig, in its order.
        if cert.isEmpty && key.isEmpty && clientAuth.isEmpty && clientCA.isEmpty { return nil }
        if cert.isEmpty { throw error(keyNode ?? node, "tls_server_config: missing cert_file") }
        if key.isEmpty { throw error(certNode ?? node, "tls_server_config: missing key_file") }
        for (file, what, n) in [(cert, "cert_file", certNode), (key, "key_file", keyNode)] {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw error(n, "tls_server_config.\(what): failed to load X509KeyPair: cannot read \(goQuote(file))")
            }
        }
        t.certFile = cert
        t.keyFile = key
        if !clientAuth.isEmpty {
            let name = clientAuth == "RequireClientCert" ? "RequireAnyClientCert" : clientAuth
            guard let auth = WebConfig.ClientAuth(rawValue: name) else {
                throw error(authNode, "tls_server_config.client_auth_type: Invalid ClientAuth: \(clientAuth)")
            }
            t.clientAuthType = auth
        }
        if !clientCA.isEmpty {
            guard FileManager.default.isReadableFile(atPath: clientCA) else {
                throw error(node, "tls_server_config.client_ca_file: cannot read \(goQuote(clientCA))")
            }
            t.clientCAFile = clientCA
            if t.clientAuthType == .noClientCert {
                throw error(node, "tls_server_config: Client CA's have been configured without a Client Auth Policy")
            }
        }
        return t
    }

    /// exporter-toolkit's `extraHTTPHeaders`: which headers may be set, and to what.
    static let allowedHeaders: [String: [String]] = [
        "Strict-Transport-Security": [], "X-Content-Type-Options": ["nosniff"],
        "X-Frame-Options": ["deny", "sameorigin"], "X-XSS-Protection": [], "Content-Security-Policy": [],
    ]

    func checkHeader(_ name: String, _ value: String, _ node: Node) throws(WebConfigError) {
        guard let allowed = Self.allowedHeaders[name] else {
            throw error(node, "http_server_config.headers: HTTP header \(goQuote(name)) can not be configured")
        }
        if !allowed.isEmpty && !allowed.contains(value) {
            throw error(node, "http_server_config.headers: invalid value for \(name). Expected one of: [\(allowed.map(goQuote).joined(separator: " "))], but got: \(goQuote(value))")
        }
    }

    /// Go's `tls.CipherSuites()` names (TLS 1.2 and below) and their code points.
    static let ciphers: [String: UInt16] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": 0x002F, "TLS_RSA_WITH_AES_256_CBC_SHA": 0x0035,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": 0x009C, "TLS_RSA_WITH_AES_256_GCM_SHA384": 0x009D,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": 0xC00A,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": 0xC013, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": 0xC014,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xC02C,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA8, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
        // TLS 1.3's, which Go accepts in the list and ignores.
        "TLS_AES_128_GCM_SHA256": 0x1301, "TLS_AES_256_GCM_SHA384": 0x1302, "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    ]

    static let curves: [String: UInt16] = ["CurveP256": 0x17, "CurveP384": 0x18, "CurveP521": 0x19, "X25519": 0x1D]
}
