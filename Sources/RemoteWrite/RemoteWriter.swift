import CoreMetrics
import Logging
import Synchronization
import TSDB

/// Prometheus's remote write for an embedded database: tails the database's own WAL and
/// sends every sample to each configured endpoint, at least once, resuming after a restart
/// (or a kill -9) from the position each receiver acknowledged.
///
/// ```swift
/// let db = try DB.open(directory: "data")
/// let sender = try RemoteWriter(db: db, directory: "data", configuration: .init(endpoints: [
///     RemoteWriteEndpoint(url: "http://127.0.0.1:9090/api/v1/write", name: "prom")]))
/// let task = Task { try await sender.run() }
/// …
/// task.cancel()  // stops reading, flushes what it can within the flush deadline
/// ```
///
/// With no position file yet, an endpoint starts at the oldest WAL segment (samples that
/// only a checkpoint still holds are not sent; their series are read from it). While it
/// runs, the database's WAL truncation keeps the segments it has not sent (up to
/// ``QueueSettings/maxRetainedSegments`` per endpoint); while it is stopped, nothing holds
/// them, and segments truncated meanwhile are logged and counted in
/// ``RemoteWriteStats/segmentsLost`` at the next start. Tombstones are not sent (as
/// Prometheus 2.42). Thread-safe.
public final class RemoteWriter: Sendable {
    private let senders: [EndpointSender]
    private let started = Atomic<Bool>(false)

    /// - Parameters:
    ///   - db: the open database whose WAL is sent.
    ///   - directory: its data directory; positions go to `directory/remote-write/`.
    /// - Throws: ``RemoteWriteError`` for an invalid or duplicate endpoint.
    public init(db: DB, directory: String, configuration: RemoteWriteConfiguration,
                logger: Logger = Logger(label: "remote-write"), metricsFactory: (any MetricsFactory)? = nil) throws {
        var names = Set<String>()
        var senders: [EndpointSender] = []
        for endpoint in configuration.endpoints {
            try endpoint.validated()
            guard names.insert(endpoint.name).inserted else { throw RemoteWriteError("duplicate remote write endpoint name \(endpoint.name)") }
            senders.append(try EndpointSender(endpoint: endpoint, dbDirectory: directory, retention: db.walRetention,
                                              userAgent: configuration.userAgent, logger: logger, metricsFactory: metricsFactory))
        }
        self.senders = senders
    }

    /// Sends until the task is cancelled, then flushes (each endpoint's flush deadline) and
    /// saves the positions. Call it once.
    /// - Throws: ``RemoteWriteError`` when called twice; file errors reading the WAL.
    public func run() async throws {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { throw RemoteWriteError("RemoteWriter.run() was called twice") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in senders { group.addTask { try await sender.run() } }
            try await group.waitForAll()
        }
    }

    /// The counts of endpoint `name` so far.
    public func stats(endpoint name: String) -> RemoteWriteStats? {
        senders.first { $0.endpoint.name == name }?.metrics.stats
    }

    /// The WAL position before which endpoint `name` had everything acknowledged; nil
    /// before it started.
    public func acknowledgedPosition(endpoint name: String) -> WALPosition? {
        senders.first { $0.endpoint.name == name }?.acknowledged
    }

    /// The position saved in `directory/remote-write/<name>.position`, if any.
    public static func savedPosition(directory: String, endpoint name: String) throws -> WALPosition? {
        try PositionFile.load(db: directory, endpoint: name, sys: .system)
    }
}
