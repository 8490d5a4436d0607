import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import PromQL
import RemoteWrite
import ServiceLifecycle
import TSDB
import TSDBServer

/// `tsdb-server`: Prometheus's HTTP API over a TSDB directory, with Prometheus's flag names.
struct TSDBServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsdb-server",
        abstract: "Serves Prometheus's HTTP API (PromQL, series, labels, status, admin) over a TSDB directory.")

    @Option(name: .customLong("storage.tsdb.path"), help: "Base path for metrics storage.")
    var storagePath = "data/"

    @Option(name: .customLong("storage.tsdb.retention.time"),
            help: "How long to retain samples in storage (e.g. 15d). With neither retention flag, 15d.")
    var retentionTime: String?

    @Option(name: .customLong("storage.tsdb.retention.size"),
            help: "Maximum number of bytes that can be stored for blocks, e.g. 512MB (units B, KB, MB, GB, TB, PB, EB: powers of 1024).")
    var retentionSize: String?

    @Option(name: .customLong("web.listen-address"), help: "Address to listen on for the API.")
    var listenAddress = "localhost:9090"

    @Option(name: .customLong("web.config.file"), help: "[EXPERIMENTAL] Path to configuration file that can enable TLS or authentication.")
    var webConfigFile: String?

    @Flag(name: .customLong("web.enable-admin-api"), help: "Enable API endpoints for admin control actions.")
    var enableAdminAPI = false

    @Option(name: .customLong("web.max-connections"), help: "Maximum number of simultaneous connections.")
    var maxConnections = 512

    @Option(name: .customLong("web.max-request-body-size"), help: "Largest form body read, in bytes (not a Prometheus flag).")
    var maxBodySize = 10 << 20

    @Option(name: .customLong("query.timeout"), help: "Maximum time a query may take before being aborted.")
    var queryTimeout = "2m"

    @Option(name: .customLong("query.max-concurrency"), help: "Maximum number of queries executed concurrently.")
    var maxConcurrency = 20

    @Option(name: .customLong("query.max-samples"), help: "Maximum number of samples a single query can load into memory.")
    var maxSamples = 50_000_000

    @Option(name: .customLong("query.lookback-delta"), help: "The maximum lookback duration for retrieving metrics during expression evaluations.")
    var lookbackDelta = "5m"

    @Option(name: .customLong("query.max-length"), help: "Longest query accepted, in bytes (not a Prometheus flag).")
    var maxQueryLength = 256 * 1024

    // Push API (issue 15).
    @Flag(name: .customLong("web.disable-push-api"), help: "Disable the Pushgateway-compatible push API on /metrics/job/….")
    var disablePushAPI = false

    @Option(name: .customLong("push.interval"), help: "How often pushed groups are appended again, as a scrape would.")
    var pushInterval = "15s"

    // Remote write and read (issue 15).
    @Flag(name: .customLong("web.disable-remote-write-receiver"),
          help: "Disable the remote-write receiver on /api/v1/write (on by default, unlike Prometheus).")
    var disableRemoteWriteReceiver = false

    @Option(name: .customLong("storage.remote.read-sample-limit"),
            help: "Maximum overall number of samples to return via the remote read interface, in a single query. 0 means no limit.")
    var remoteReadSampleLimit = 50_000_000

    @Option(name: .customLong("storage.remote.read-concurrent-limit"),
            help: "Maximum number of concurrent remote read calls. 0 means no limit.")
    var remoteReadConcurrentLimit = 10

    @Option(name: .customLong("remote-write.url"),
            help: "Send every sample stored to this remote-write URL (repeatable), tailing the WAL, at least once.")
    var remoteWriteURLs: [String] = []

    @Option(name: .customLong("enable-feature"),
            help: "Comma separated feature names to enable. Valid here: promql-per-step-stats.")
    var enableFeatures: [String] = []

    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above: debug, info, warn, error.")
    var logLevel = "info"

    func duration(_ text: String, _ flag: String) throws -> Int64 {
        do { return try PromQLDuration.parse(text) } catch {
            throw ValidationError("invalid --\(flag) \(text.debugDescription): \(error.description)")
        }
    }

    /// kingpin's `units.ParseBase2Bytes`: `512MB` is 512 × 2^20.
    static func parseBytes(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("EB", 1 << 60), ("PB", 1 << 50), ("TB", 1 << 40), ("GB", 1 << 30),
                                        ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        for (suffix, multiplier) in units where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count)), n >= 0 else { return nil }
            let (v, overflow) = n.multipliedReportingOverflow(by: multiplier)
            return overflow ? nil : v
        }
        return Int64(text)
    }

    func run() async throws {
        let level: Logger.Level
        switch logLevel {
        case "debug": level = .debug
        case "info": level = .info
        case "warn": level = .warning
        case "error": level = .error
        default: throw ValidationError("invalid --log.level \(logLevel.debugDescription)")
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "tsdb-server")
        // The engine's metrics (swift-metrics) and the HTTP metrics, both served at /metrics.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        guard let address = TSDBServer.ListenAddress.parse(listenAddress) else {
            throw ValidationError("invalid --web.listen-address \(listenAddress.debugDescription): want host:port")
        }
        var webConfig: WebConfig? = nil
        if let webConfigFile {
            // A file that does not load stops the start-up: never serve without the TLS or
            // authentication it asks for.
            do { webConfig = try WebConfig.load(path: webConfigFile) } catch { throw ValidationError(error.description) }
        }
        if webConfig == nil, !address.isLocalhost {
            logger.warning("Listening on a non-localhost address without --web.config.file: the API has no TLS and no authentication",
                           metadata: ["address": "\(listenAddress)"])
        }

        var options = Options()
        options.logger = Logger(label: "tsdb")
        var retention: [String] = []
        if let retentionTime {
            let ms = try duration(retentionTime, "storage.tsdb.retention.time")
            if ms > 0 { options.retentionDuration = ms; retention.append(PromQLDuration.format(milliseconds: ms)) }
        }
        if let retentionSize {
            guard let bytes = Self.parseBytes(retentionSize) else {
                throw ValidationError("invalid --storage.tsdb.retention.size \(retentionSize.debugDescription)")
            }
            if bytes > 0 { options.retentionSize = bytes; retention.append(retentionSize) }
        }
        if retentionTime == nil && retentionSize == nil {
            // Prometheus's default when neither is set.
            options.retentionDuration = 15 * 86_400_000
            retention.append("15d")
        }

        var api = PrometheusAPI.Configuration()
        api.enableAdminAPI = enableAdminAPI
        api.queryTimeout = .milliseconds(try duration(queryTimeout, "query.timeout"))
        api.lookbackDelta = .milliseconds(try duration(lookbackDelta, "query.lookback-delta"))
        api.maxConcurrency = maxConcurrency
        api.maxSamples = maxSamples
        api.maxBodySize = maxBodySize
        api.maxQueryLength = maxQueryLength
        api.storageRetention = retention.joined(separator: " or ")
        // As Prometheus: a comma-separated list, repeatable, unknown names logged and ignored.
        let features = enableFeatures.flatMap { $0.split(separator: ",").map { String($0) } }
        for feature in features {
            switch feature {
            case "promql-per-step-stats":
                api.enablePerStepStats = true
                logger.info("Experimental per-step statistics reporting")
            default:
                logger.warning("Unknown option for --enable-feature", metadata: ["option": "\(feature)"])
            }
        }
        api.flags = [
            "storage.tsdb.path": storagePath,
            "storage.tsdb.retention.time": retentionTime ?? "0s",
            "storage.tsdb.retention.size": retentionSize ?? "0B",
            "web.listen-address": listenAddress,
            "web.config.file": webConfigFile ?? "",
            "web.enable-admin-api": String(enableAdminAPI),
            "web.max-connections": String(maxConnections),
            "query.timeout": queryTimeout,
            "query.max-concurrency": String(maxConcurrency),
            "query.max-samples": String(maxSamples),
            "query.lookback-delta": lookbackDelta,
            "log.level": logLevel,
            "enable-feature": features.joined(separator: ","),
            "web.enable-remote-write-receiver": String(!disableRemoteWriteReceiver),
            "storage.remote.read-sample-limit": String(remoteReadSampleLimit),
            "storage.remote.read-concurrent-limit": String(remoteReadConcurrentLimit),
        ]

        try FileManager.default.createDirectory(atPath: storagePath, withIntermediateDirectories: true)
        logger.info("Starting TSDB", metadata: ["path": "\(storagePath)", "retention": "\(api.storageRetention)"])
        let db = try DB.open(directory: storagePath, options: options)
        logger.info("TSDB started", metadata: ["blocks": "\(db.blocks.count)", "headSeries": "\(db.headSeriesCount)"])

        var remote = RemoteConfiguration()
        remote.enableWriteReceiver = !disableRemoteWriteReceiver
        remote.readSampleLimit = max(0, remoteReadSampleLimit)
        remote.readConcurrentLimit = max(0, remoteReadConcurrentLimit)
        var server = TSDBServer(api: PrometheusAPI(db: db, configuration: api, logger: logger), remote: remote,
                                registry: registry)
        // Push API: the store, its routes and the re-append service.
        var pushServices: [any Service] = []
        var push: PushAPI?
        if !disablePushAPI {
            let intervalMs = try duration(pushInterval, "push.interval")
            guard intervalMs > 0 else { throw ValidationError("--push.interval must be positive") }
            var pushConfig = PushConfiguration()
            pushConfig.interval = .milliseconds(intervalMs)
            let store = try PushStore(db: db, logger: logger)
            push = PushAPI(store: store, configuration: pushConfig)
            server.metricsSources.append(store)
            pushServices = [PushReappendService(store: store, interval: pushConfig.interval)]
        }
        var remoteWriteServices: [any Service] = []
        if !remoteWriteURLs.isEmpty {
            let writer = try RemoteWriter(db: db, directory: storagePath,
                                          configuration: .init(endpoints: RemoteWriteService.endpoints(remoteWriteURLs)),
                                          logger: logger)
            remoteWriteServices = [RemoteWriteService(writer: writer)]
        }
        var limits = TSDBServer.HTTPLimits()
        limits.maxConnections = maxConnections > 0 ? maxConnections : nil
        let app = try server.application(address: address, limits: limits, webConfig: webConfig,
                                         webConfigFile: webConfigFile ?? "", logger: logger, onServerRunning: { port in
            logger.info("Server is ready to receive web requests.", metadata: ["address": "\(address.host):\(port)"])
        }, addRoutes: { router in push?.addRoutes(to: router) })
        let group = ServiceGroup(configuration: .init(
            services: [DBCloseService(db: db, logger: logger)] + remoteWriteServices + pushServices + [app],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("See you next time!")
    }
}
