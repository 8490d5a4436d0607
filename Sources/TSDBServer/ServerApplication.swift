import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle
import TSDB

/// Closes the database when the service group shuts down. Put it before the HTTP server in
/// the group: services stop in reverse order, so requests finish before the DB closes.
public struct DBCloseService: Service {
    public let db: DB
    public let logger: Logger

    public init(db: DB, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    public func run() async throws {
        defer {
            do {
                try db.close()
                logger.info("TSDB closed")
            } catch {
                logger.error("closing the TSDB failed", metadata: ["err": "\(error)"])
            }
        }
        try? await gracefulShutdown()
    }
}

extension TSDBServer {
    public struct ListenAddress: Sendable, Equatable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Go's `host:port`: `:9090` means every interface, `[::1]:9090` an IPv6 host.
        public static func parse(_ text: String) -> ListenAddress? {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            var host = String(text[..<colon])
            guard let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            if host.isEmpty { host = "0.0.0.0" }
            return ListenAddress(host: host, port: port)
        }

        /// Whether only this machine can connect (what needs no web config file).
        public var isLocalhost: Bool {
            host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }

    /// The HTTP server limits.
    public struct HTTPLimits: Sendable {
        /// `--web.max-connections`; nil for no limit.
        public var maxConnections: Int? = 512
        /// The largest request header block, in bytes (Go's default is 1 MB).
        public var maxHeaderBytes = 1 << 20
        /// The listen queue: connections accepted by the kernel and not yet by the server.
        public var backlog = 4096
        /// How long an idle keep-alive connection stays open.
        public var idleTimeout: Duration = .seconds(300)
        public init() {}
    }

    /// A Hummingbird application serving this API, the health endpoints and `/metrics`, with a
    /// web configuration file's TLS, basic auth and headers when `webConfig` is given
    /// (`webConfigFile` names it in errors, e.g. a certificate that does not load).
    /// `onServerRunning` gets the port bound (useful with port 0); `addRoutes` mounts more
    /// routes (the push API, remote write) on the router, behind the same authentication.
    public func application(address: ListenAddress, limits: HTTPLimits = HTTPLimits(),
                            webConfig: WebConfig? = nil, webConfigFile: String = "", logger: Logger,
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
                            addRoutes: (Router<BasicRequestContext>) -> Void = { _ in }) throws(WebConfigError)
        -> Application<RouterResponder<BasicRequestContext>> {
        let router = buildRouter(webConfig: webConfig)
        addRoutes(router)
        var configuration = ApplicationConfiguration(address: .hostname(address.host, port: address.port),
                                                     serverName: nil)
        // Go listens with the system's somaxconn (4096 here): connections past
        // --web.max-connections wait in that queue rather than having their SYNs dropped
        // and retried after seconds, as with NIO's default of 256.
        configuration.backlog = limits.backlog
        if let max = limits.maxConnections, max > 0 {
            configuration.availableConnectionsDelegate = MaximumAvailableConnections(max, logger: logger)
        }
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: 1000)
        let idle = limits.idleTimeout.components
        let http1 = HTTP1Channel.Configuration(
            idleTimeout: .nanoseconds(idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000),
            httpDecoderConfiguration: decoder)
        var server = HTTPServerBuilder.http1WatchingDisconnects(configuration: http1)
        if let tls = webConfig?.tls {
            let channel = try tls.channelConfiguration(file: webConfigFile)
            do { server = try .tls(server, configuration: channel) } catch {
                throw WebConfigError(file: webConfigFile, message: "tls_server_config: \(error)")
            }
        }
        return Application(router: router, server: server, configuration: configuration,
                           onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? address.port) },
                           logger: logger)
    }
}
