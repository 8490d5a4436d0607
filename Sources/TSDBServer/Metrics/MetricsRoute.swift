import Hummingbird
import Prometheus
import Synchronization

/// Prometheus's own HTTP metrics, under its names: `prometheus_http_requests_total{code,handler}`
/// and the `prometheus_http_request_duration_seconds{handler}` histogram with its buckets.
/// `handler` is the route pattern (`/api/v1/label/:name/values`), never the request path, so
/// the series stay few whatever clients send.
final class HTTPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])

    /// Prometheus's `instrumentHandler` buckets.
    static let buckets: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .seconds(1),
                                      .seconds(3), .seconds(8), .seconds(20), .seconds(60), .seconds(120)]
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
        namespace: "prometheus", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "Counter of HTTP requests.")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
        namespace: "prometheus", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "Histogram of latencies for HTTP requests.")
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Counts one answered request. Costs a lock and a dictionary look-up.
    func observe(handler: String, code: Int, elapsed: Duration) {
        let key = handler + " " + String(code)
        let counter = counters.withLock { c in
            if let existing = c[key] { return existing }
            let made = registry.makeCounter(descriptor: Self.requests, labels: [("code", String(code)), ("handler", handler)])
            c[key] = made
            return made
        }
        counter.increment()
        let histogram = histograms.withLock { h in
            if let existing = h[handler] { return existing }
            let made = registry.makeDurationHistogram(descriptor: Self.duration, labels: [("handler", handler)], buckets: Self.buckets)
            h[handler] = made
            return made
        }
        histogram.record(elapsed)
    }

    /// `body` answered, timed and counted under `handler`.
    func instrument<Context: RequestContext>(
        _ handler: String, _ body: @escaping @Sendable (Request, Context) async throws -> Response
    ) -> @Sendable (Request, Context) async throws -> Response {
        { [self] request, context in
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let response = try await body(request, context)
                observe(handler: handler, code: response.status.code, elapsed: clock.now - start)
                return response
            } catch {
                let code = (error as? any HTTPResponseError)?.status.code ?? 500
                observe(handler: handler, code: code, elapsed: clock.now - start)
                throw error
            }
        }
    }
}

extension TSDBServer {
    /// The content type Prometheus's `/metrics` answers a plain scrape with.
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// `GET /metrics`: the registry's families (the engine's through swift-metrics, the HTTP
    /// metrics), then each of ``metricsSources``' in order.
    public func addMetricsRoute<Context: RequestContext>(to router: some RouterMethods<Context>) {
        router.on("/metrics", method: .get, use: httpMetrics.instrument("/metrics") { [self] _, _ in
            Response(status: .ok, headers: [.contentType: Self.metricsContentType],
                     body: .init(byteBuffer: ByteBuffer(bytes: await metricsExposition())))
        })
    }

    /// What `/metrics` serves, in the text format 0.0.4.
    public func metricsExposition() async -> [UInt8] {
        var bytes = httpMetrics.registry.emitToBuffer()
        for source in metricsSources {
            let text = await source.exposition()
            if !text.isEmpty, bytes.last.map({ $0 != 0x0A }) ?? false { bytes.append(0x0A) }
            bytes.append(contentsOf: text.utf8)
        }
        return bytes
    }
}
