import Foundation
import HummingbirdBcrypt
import Logging
import ServiceLifecycle
import Testing
import TSDB
import TSDBTestSupport
@testable import TSDBServer

/// A `tsdb-server` app with a web configuration, on 127.0.0.1 and a port the system picks.
private struct ConfiguredServer {
    let db: DB
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static func start(directory: String, webConfigFile: String) async throws -> ConfiguredServer {
        let config = try WebConfig.load(path: webConfigFile)
        let db = try DB.open(directory: directory)
        var logger = Logger(label: "webconfig-test")
        logger.logLevel = .warning
        let server = TSDBServer(api: PrometheusAPI(db: db, logger: logger))
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = try server.application(address: .init(host: "127.0.0.1", port: 0), webConfig: config,
                                         webConfigFile: webConfigFile, logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var port: Int?
        for await p in stream { port = p }
        guard let port else {
            task.cancel()
            try? db.close()
            throw CommandFailure(description: "the server did not start")
        }
        return ConfiguredServer(db: db, port: port, group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? db.close()
    }
}

/// curl's status, headers and body.
private func curlFull(_ args: [String]) async throws -> (status: Int, headers: String, body: String) {
    let r = try await offPool { try HTTP.curl(["-g", "-D", "-"] + args) }
    guard let split = r.body.range(of: "\r\n\r\n") else { return (r.status, "", r.body) }
    return (r.status, String(r.body[..<split.lowerBound]), String(r.body[split.upperBound...]))
}

/// A self-signed certificate for 127.0.0.1 and its key, made by openssl.
private func makeCertificate(in dir: String, name: String) throws {
    try Command.run("/usr/bin/openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", dir + "/\(name).key", "-out", dir + "/\(name).crt",
    ])
}

@Suite(.blocking, .serialized) struct WebConfigTests {
    @Test func parsesPrometheusFormat() throws {
        let work = try TemporaryDirectory("tsdb-webconfig-parse")
        defer { work.remove() }
        try makeCertificate(in: work.path, name: "server")
        try makeCertificate(in: work.path, name: "ca")
        // Relative paths are the file's directory's; the files are checked as the file loads.
        let text = """
        tls_server_config:
          cert_file: server.crt
          key_file: \(work.path)/server.key
          min_version: TLS13
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ca.crt
        http_server_config:
          http2: false
          headers:
            X-Frame-Options: deny
        basic_auth_users:
          alice: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi
        """
        let c = try WebConfig.parse(text, file: work.path + "/web.yml", directory: work.path)
        #expect(c.tls?.certFile == work.path + "/server.crt")
        #expect(c.tls?.keyFile == work.path + "/server.key")
        #expect(c.tls?.clientCAFile == work.path + "/ca.crt")
        #expect(c.tls?.minVersion == .tls13)
        #expect(c.tls?.clientAuthType == .requireAndVerifyClientCert)
        #expect(c.http2 == false)
        #expect(c.headers.map(\.name) == ["X-Frame-Options"] && c.headers.map(\.value) == ["deny"])
        #expect(c.basicAuthUsers.keys.sorted() == ["alice"])
        // An empty file is no TLS and no users.
        let empty = try WebConfig.parse("", file: "e.yml", directory: ".")
        #expect(empty.tls == nil && empty.basicAuthUsers.isEmpty)
    }

    @Test(arguments: [
        ("basic_auth_users:\n  bob: plaintext\n", "bcrypt"),
        ("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS14\n", "TLS14"),
        ("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: Maybe\n", "Maybe"),
        ("unknown_section: 1\n", "unknown_section"),
        ("http_server_config:\n  headers:\n    Set-Cookie: x\n", "Set-Cookie"),
        ("basic_auth_users: [1, 2\n", "line"),
        ("tls_server_config:\n  cert_file: /nonexistent/a.crt\n  key_file: /nonexistent/a.key\n", "/nonexistent/a.crt"),
        ("tls_server_config:\n  cert_file: a.crt\n", "key_file"),
    ])
    func rejectsBadFiles(text: String, mentions: String) throws {
        // Readable a.crt and a.key, so the checks after loading them (as exporter-toolkit orders them) are reached.
        let dir = try TemporaryDirectory("tsdb-webconfig-bad")
        defer { dir.remove() }
        for name in ["a.crt", "a.key"] {
            #expect(FileManager.default.createFile(atPath: dir.path + "/" + name, contents: Data("x".utf8)))
        }
        let file = dir.path + "/web.yml"
        #expect {
            _ = try WebConfig.parse(text, file: file, directory: dir.path)
        } throws: { error in
            let d = "\(error)"
            return d.contains(file) && d.contains(mentions)
        }
    }

    /// Basic auth and headers answer as Prometheus 2.42 with the same file answers.
    @Test func basicAuthAsPrometheus() async throws {
        let work = try TemporaryDirectory("tsdb-webconfig-auth")
        defer { work.remove() }
        // Cost 4 keeps the test fast; `$2y$` is htpasswd's spelling, which Prometheus accepts.
        let hash = "$2y$" + Bcrypt.hash("s3cret", cost: 4).dropFirst(4)
        let file = work.path + "/web.yml"
        try """
        http_server_config:
          headers:
            X-Frame-Options: deny
        basic_auth_users:
          alice: \(hash)
        """.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: work.path + "/ours", withIntermediateDirectories: true)
        let ours = try await ConfiguredServer.start(directory: work.path + "/ours", webConfigFile: file)
        defer { Task { await ours.stop() } }
        let oursBase = "http://127.0.0.1:\(ours.port)"

        var theirsBase: String? = nil
        var prometheus: PrometheusServer? = nil
        if PrometheusServer.isAvailable {
            prometheus = try PrometheusServer.start(directory: work.path + "/theirs", work: work.path,
                                                    arguments: ["--web.config.file=\(file)"],
                                                    readinessCredentials: "alice:s3cret")
            theirsBase = prometheus?.base
        }
        defer { prometheus?.stop() }

        let cases: [(args: [String], path: String, status: Int)] = [
            ([], "/api/v1/labels", 401),
            (["-u", "alice:wrong"], "/api/v1/labels", 401),
            (["-u", "mallory:s3cret"], "/api/v1/labels", 401),
            (["-H", "Authorization: Bearer abc"], "/api/v1/labels", 401),
            (["-u", "alice:s3cret"], "/api/v1/labels", 200),
            (["-u", "alice:s3cret"], "/-/healthy", 200),
            ([], "/-/healthy", 401),
            (["-u", "alice:s3cret"], "/api/v1/query?query=1", 200),
        ]
        for c in cases {
            let mine = try await curlFull(c.args + [oursBase + c.path])
            #expect(mine.status == c.status, "\(c.args) \(c.path)")
            #expect(mine.headers.lowercased().contains("x-frame-options: deny"), "\(c.args) \(c.path)")
            if c.status == 401 {
                #expect(mine.headers.lowercased().contains("www-authenticate: basic"))
                #expect(mine.body == "Unauthorized\n")
            }
            if let theirsBase {
                let theirs = try await curlFull(c.args + [theirsBase + c.path])
                #expect(theirs.status == mine.status, "Prometheus: \(c.args) \(c.path)")
                if c.status == 401 { #expect(theirs.body == mine.body) }
            }
        }

        // promtool, with and without the credentials.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
            // promtool 2.42 has no --http.config.file; Go's client sends a URL's user as basic auth.
            let withUser = oursBase.replacingOccurrences(of: "http://", with: "http://alice:s3cret@")
            let r = try await offPool { try Command.runStatus("/usr/bin/promtool", ["query", "instant", withUser, "1+1"]) }
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("2"))
            let denied = try await offPool { try Command.runStatus("/usr/bin/promtool", ["query", "instant", oursBase, "1+1"]) }
            #expect(denied.status != 0)
        }
    }

    /// TLS with a self-signed certificate; the minimum version holds.
    @Test func servesTLS() async throws {
        let work = try TemporaryDirectory("tsdb-webconfig-tls")
        defer { work.remove() }
        try makeCertificate(in: work.path, name: "server")
        let file = work.path + "/web.yml"
        try "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: work.path + "/db", withIntermediateDirectories: true)
        let server = try await ConfiguredServer.start(directory: work.path + "/db", webConfigFile: file)
        defer { Task { await server.stop() } }
        let https = "https://127.0.0.1:\(server.port)"
        let ok = try await curlFull(["--cacert", work.path + "/server.crt", https + "/api/v1/query?query=2*3"])
        #expect(ok.status == 200)
        #expect(ok.body.contains("\"6\""))
        // TLS 1.2 at most is refused by a TLS13 minimum; plain HTTP gets no HTTP answer.
        let old = try await offPool {
            try Command.runStatus("/usr/bin/curl", ["-s", "--cacert", work.path + "/server.crt", "--tls-max", "1.2", https + "/-/healthy"])
        }
        #expect(old.status != 0)
        let plain = try await offPool {
            try Command.runStatus("/usr/bin/curl", ["-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/-/healthy"])
        }
        #expect(plain.stdout != "200")
        // The server keeps serving after the bad handshakes.
        #expect(try await curlFull(["--cacert", work.path + "/server.crt", https + "/-/ready"]).status == 200)

        if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
            // Go trusts the roots in SSL_CERT_FILE.
            let r = try await offPool {
                try Command.runStatus("/usr/bin/env", ["SSL_CERT_FILE=\(work.path)/server.crt", "/usr/bin/promtool", "query", "instant", https, "2*3"])
            }
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("6"))
        }
    }

    /// A certificate that does not load, or a key that does not match it, stops the start.
    @Test func badCertificatesFailAtStart() throws {
        let work = try TemporaryDirectory("tsdb-webconfig-bad")
        defer { work.remove() }
        try makeCertificate(in: work.path, name: "a")
        try makeCertificate(in: work.path, name: "b")
        let db = try DB.open(directory: work.path + "/db")
        defer { try? db.close() }
        let server = TSDBServer(api: PrometheusAPI(db: db))
        for (cert, key) in [("a.crt", "b.key"), ("missing.crt", "a.key"), ("a.key", "a.key")] {
            let file = work.path + "/web-\(cert)-\(key).yml"
            try "tls_server_config:\n  cert_file: \(cert)\n  key_file: \(key)\n".write(toFile: file, atomically: true, encoding: .utf8)
            // Either the load or the TLS set-up refuses it, naming the file.
            #expect {
                let config = try WebConfig.load(path: file)
                _ = try server.application(address: .init(host: "127.0.0.1", port: 0), webConfig: config,
                                           webConfigFile: file, logger: Logger(label: "t"))
            } throws: { error in "\(error)".contains(file) }
        }
    }
}
