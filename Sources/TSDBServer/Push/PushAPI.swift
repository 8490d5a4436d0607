import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TSDB

/// The push API's settings (`--web.disable-push-api`, `--push.interval`).
public struct PushConfiguration: Sendable {
    /// How often each group's last values are appended again, as a scrape would.
    public var interval: Duration = .seconds(15)
    /// The largest push body; a larger one is refused with 413 (the Pushgateway has no cap).
    public var maxBodySize = 16 << 20

    public init() {}
}

/// `PUT`, `POST` and `DELETE` on `/metrics/job/<job>{/<label>/<value>}`, answered as
/// Pushgateway 1.5.1 answers (see the README's "Push API").
public struct PushAPI: Sendable {
    public let store: PushStore
    public let configuration: PushConfiguration

    public init(store: PushStore, configuration: PushConfiguration = PushConfiguration()) {
        self.store = store
        self.configuration = configuration
    }

    /// Mounts the push routes on `router`. The groups are exposed by the server's `/metrics`
    /// when the ``PushStore`` is among its ``TSDBServer/metricsSources``.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        for method in [HTTPRequest.Method.put, .post, .delete] {
            router.on("metrics/**", method: method) { [self] request, _ in
                await handle(request)
            }
        }
    }

    func handle(_ request: Request) async -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/metrics/") else { return Self.text(404, "404 page not found") }
        if let (status, location) = GroupingPath.redirect(for: path) {
            let query = request.uri.query.map { "?" + $0 } ?? ""
            return Response(status: HTTPResponse.Status(code: status), headers: [.location: location + query])
        }
        let grouping: GroupingPath
        switch GroupingPath.parse(String(path.dropFirst("/metrics".count))) {
        case .success(let g): grouping = g
        case .failure(.notFound): return Self.text(404, "404 page not found")
        case .failure(.badRequest(let message)): return Self.text(400, message)
        }
        let now = Date().timeIntervalSince1970
        if request.method == .delete {
            store.delete(grouping, now: now)
            return Response(status: .accepted)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodySize)
        } catch {
            return Self.text(413, "push body larger than \(configuration.maxBodySize) bytes")
        }
        let refused = body.withUnsafeReadableBytes { bytes in
            store.push(grouping, body: bytes, replace: request.method == .put, now: now)
        }
        if let refused { return Self.text(refused.status, refused.message) }
        return Response(status: .ok)
    }

    /// Go's `http.Error`: the message and a newline, as plain text.
    static func text(_ status: Int, _ message: String) -> Response {
        Response(status: HTTPResponse.Status(code: status),
                 headers: [.contentType: "text/plain; charset=utf-8", .init("X-Content-Type-Options")!: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}

/// Appends every group's values again each ``PushConfiguration/interval`` until the service
/// group shuts down. Put it after ``DBCloseService`` so it stops before the DB closes.
public struct PushReappendService: Service {
    public let store: PushStore
    public let interval: Duration

    public init(store: PushStore, interval: Duration) {
        self.store = store
        self.interval = interval
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                store.reappend()
            }
        }
    }
}
