import Hummingbird
import Logging
import Prometheus
import TSDB

/// Mounts ``PrometheusAPI`` on Hummingbird 2 routers.
///
/// A daemon that embeds the engine adds the API to its own application:
///
/// ```swift
/// let db = try DB.open(directory: "data")
/// let registry = PrometheusCollectorRegistry()   // the daemon's, with its own metrics
/// let server = TSDBServer(api: PrometheusAPI(db: db), registry: registry)
/// let router = Router()
/// server.addAPIRoutes(to: router.group("api/v1"))
/// server.addHealthRoutes(to: router)
/// server.addMetricsRoute(to: router)
/// let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 9090)))
/// try await app.runService()
/// ```
public struct TSDBServer: Sendable {
    public let api: PrometheusAPI
    /// What `GET /metrics` exposes after the server's own metrics.
    public var metricsSources: [any MetricsSource]
    /// The remote-write receiver's and remote read's settings.
    public var remote: RemoteConfiguration
    /// The HTTP request metrics, counted in the registry `/metrics` serves.
    let httpMetrics: HTTPMetrics

    /// - Parameter registry: what `GET /metrics` serves first and where the HTTP request metrics
    ///   go. The default is swift-prometheus's, the one `PrometheusMetricsFactory()` fills; pass
    ///   the registry `MetricsSystem` was bootstrapped with so the engine's metrics are served.
    public init(api: PrometheusAPI, metricsSources: [any MetricsSource] = [],
                remote: RemoteConfiguration = RemoteConfiguration(),
                registry: PrometheusCollectorRegistry = PrometheusMetricsFactory.defaultRegistry) {
        self.api = api
        self.metricsSources = metricsSources
        self.remote = remote
        httpMetrics = HTTPMetrics(registry: registry)
    }

    /// The registry `/metrics` serves.
    public var registry: PrometheusCollectorRegistry { httpMetrics.registry }

    /// Prometheus's `/api/v1` endpoints, relative to `group` (mount it at `api/v1`).
    public func addAPIRoutes<Context: RequestContext>(to group: RouterGroup<Context>) {
        for endpoint in PrometheusAPI.Endpoint.allCases {
            let path = RouterPath(endpoint.rawValue)
            for method in endpoint.methods {
                let m = HTTPRequest.Method(rawValue: method) ?? .get
                group.on(path, method: m, use: httpMetrics.instrument("/api/v1/" + endpoint.rawValue) { [api] request, context in
                    await Self.respond(api, endpoint, request, context)
                })
            }
        }
    }

    /// `/-/healthy` and `/-/ready` (GET and HEAD), with Prometheus's bodies.
    public func addHealthRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        for (path, text) in [("/-/healthy", "Prometheus Server is Healthy.\n"), ("/-/ready", "Prometheus Server is Ready.\n")] {
            router.on(RouterPath(path), method: .get, use: httpMetrics.instrument(path) { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: text)))
            })
            router.on(RouterPath(path), method: .head) { _, _ in Response(status: .ok) }
        }
    }

    /// A router with the API under `/api/v1`, the health endpoints and `/metrics`; with a web
    /// config, its basic auth and headers in front of every route.
    public func buildRouter(webConfig: WebConfig? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        if let webConfig, !webConfig.basicAuthUsers.isEmpty || !webConfig.headers.isEmpty {
            router.add(middleware: WebConfigMiddleware(webConfig))
        }
        addAPIRoutes(to: router.group("api/v1"))
        addRemoteRoutes(to: router.group("api/v1"))
        addHealthRoutes(to: router)
        addMetricsRoute(to: router)
        return router
    }

    /// Collects the parameters as Go's ParseForm does and answers. A PromQL query is
    /// cancelled when its client closes the connection, as Go cancels the request's context:
    /// through the connection's ``ConnectionWatcher`` when the server was built with
    /// `HTTPServerBuilder.http1WatchingDisconnects` (as ``application(address:limits:webConfig:webConfigFile:logger:onServerRunning:addRoutes:)``
    /// does), otherwise through Hummingbird's `consumeWithCancellationOnInboundClose`, which
    /// closes the connection after the answer (no keep-alive for queries).
    static func respond<Context: RequestContext>(_ api: PrometheusAPI, _ endpoint: PrometheusAPI.Endpoint,
                                                 _ request: Request, _ context: Context) async -> Response {
        let labelName: String? = endpoint == .labelValues ? context.parameters.get("name").map(Self.pathUnescape) : nil
        guard api.configuration.cancelQueriesOnDisconnect, endpoint == .query || endpoint == .queryRange else {
            return await respond(api, endpoint, request, body: request.body, labelName: labelName)
        }
        if let watcher = ConnectionWatcher.current {
            let body = request.body
            return await watcher.cancellingOnClose {
                await respond(api, endpoint, request, body: body, labelName: labelName)
            }
        }
        do {
            return try await request.body.consumeWithCancellationOnInboundClose { body in
                await respond(api, endpoint, request, body: body, labelName: labelName)
            }
        } catch {
            // The client has gone: nobody reads this.
            return Response(status: .init(code: 499))
        }
    }

    private static func respond(_ api: PrometheusAPI, _ endpoint: PrometheusAPI.Endpoint,
                                _ request: Request, body requestBody: RequestBody,
                                labelName: String?) async -> Response {
        var form = FormValues()
        if request.method == .post || request.method == .put || request.method == .patch,
           let type = request.headers[.contentType],
           type.lowercased().hasPrefix("application/x-www-form-urlencoded") {
            do {
                let body = try await requestBody.collect(upTo: api.configuration.maxBodySize)
                form.parse(query: body.readableBytesView)
            } catch {
                form.setError("http: POST too large")
            }
        }
        if let query = request.uri.query {
            var urlForm = FormValues()
            urlForm.parse(query: Array(query.utf8))
            for p in urlForm.pairs { form.append(p.name, p.value) }
            if let e = urlForm.error { form.setError(e) }
        }
        let answer = await api.handle(endpoint, form: form, labelName: labelName)
        return Self.response(answer)
    }

    static func response(_ answer: APIResponse) -> Response {
        if answer.status == 204 { return Response(status: .noContent) }
        var headers: HTTPFields = [:]
        if !answer.contentType.isEmpty { headers[.contentType] = answer.contentType }
        return Response(status: HTTPResponse.Status(code: answer.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    /// Percent-decoding of a path segment (`+` stays `+`).
    static func pathUnescape(_ s: String) -> String {
        guard s.contains("%") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 0x25, i + 2 < b.count, let h = FormValues.hexValue(b[i + 1]), let l = FormValues.hexValue(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
