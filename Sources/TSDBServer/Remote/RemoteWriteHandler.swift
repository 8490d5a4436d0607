import Hummingbird
import Logging
import RemoteProtocol
import Synchronization
import TSDB

/// `POST /api/v1/write`: remote write 1.0, as Prometheus 2.42's receiver answers it.
///
/// One request is one transaction: every sample is appended, and the first rejected sample
/// (out of order, out of bounds, a different value at a stored timestamp) rolls the whole
/// request back and is answered 400 with Prometheus's message, as 2.42 does. Safe to call
/// from any number of tasks at once.
struct RemoteWriteHandler: Sendable {
    let db: DB
    let configuration: RemoteConfiguration
    let logger: Logger
    let stats: RemoteWriteStats
    let cache: SeriesRefCache

    init(db: DB, configuration: RemoteConfiguration, logger: Logger, stats: RemoteWriteStats) {
        self.db = db
        self.configuration = configuration
        self.logger = logger
        self.stats = stats
        cache = SeriesRefCache(capacity: configuration.seriesCacheCapacity)
    }

    /// The outcome of one decoded request.
    enum Outcome: Equatable {
        case stored(samples: Int)
        /// A client error: 400 with this text.
        case rejected(String)
        /// Our own failure (the WAL could not be written): 500.
        case failed(String)
    }

    func handle(_ request: Request) async -> Response {
        if let refusal = RemoteResponse.unsupportedEncoding(request) { return refusal }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxWriteBodyBytes)
        } catch {
            return RemoteResponse.error(.contentTooLarge,
                                        "request body too large: more than \(configuration.maxWriteBodyBytes) bytes")
        }
        let request: WriteRequestView
        do {
            request = try decode(Array(body.readableBytesView))
        } catch let e as SnappyBody.DecodeError {
            if case .tooLarge = e { return RemoteResponse.error(.contentTooLarge, e.description) }
            return reject(e.description)
        } catch {
            return reject("\(error)")
        }
        switch append(request) {
        case .stored(let n):
            stats.samples.add(n, ordering: .relaxed)
            return Response(status: .noContent)
        case .rejected(let text):
            return reject(text)
        case .failed(let text):
            logger.error("Error appending remote write", metadata: ["err": "\(text)"])
            return RemoteResponse.error(.internalServerError, text)
        }
    }

    private func reject(_ text: String) -> Response {
        stats.rejectedRequests.add(1, ordering: .relaxed)
        logger.debug("Rejected remote write request", metadata: ["err": "\(text)"])
        return RemoteResponse.error(.badRequest, text)
    }

    /// Snappy, then protobuf; the declared decompressed size is checked before decompressing.
    func decode(_ compressed: [UInt8]) throws -> WriteRequestView {
        try WriteRequestView(decoding: try SnappyBody.decode(compressed, limit: configuration.maxWriteDecodedBytes))
    }

    /// Appends every sample of `request` in one transaction; metadata is ignored, exemplars
    /// are counted and dropped (there is no exemplar storage), native histograms refuse the
    /// request as 2.42 does without its feature flag. A series known by its encoded labels
    /// is appended by reference (``SeriesRefCache``).
    func append(_ request: WriteRequestView) -> Outcome {
        var app: Appender
        do { app = try db.appender() } catch { return .failed(error.description) }
        var failure: Outcome? = nil
        var exemplars = 0
        series: for ts in request.series {
            if ts.histograms > 0 {
                failure = .rejected("native histograms are disabled")
                break
            }
            let key = request.labelKey(of: ts)
            let hash = key.map(SeriesRefCache.hash) ?? 0
            var ref = key.flatMap { cache.ref($0, hash: hash) }
            if ref == nil && ts.samples.isEmpty {
                // No sample to append, but the labels are still checked.
                do { _ = try request.labels(of: ts, maxLabelBytes: configuration.maxLabelBytes) } catch {
                    failure = .rejected("invalid labels: \(error.description)")
                    break
                }
            }
            for i in ts.samples {
                let s = request.samples[i]
                do throws(TSDBError) {
                    if let r = ref {
                        do throws(TSDBError) {
                            try app.append(r, timestamp: s.timestamp, value: s.value)
                            continue
                        } catch where error.code == .unknownSeriesRef {
                            cache.remove(hash: hash)  // the head dropped the series
                        }
                    }
                    let labels: Labels
                    do { labels = try request.labels(of: ts, maxLabelBytes: configuration.maxLabelBytes) } catch {
                        failure = .rejected("invalid labels: \(error.description)")
                        break series
                    }
                    let created = try app.append(labels, timestamp: s.timestamp, value: s.value)
                    ref = created
                    if let key { cache.insert(key, hash: hash, ref: created) }
                } catch {
                    failure = Self.outcome(error)
                    break series
                }
            }
            exemplars += ts.exemplars
        }
        if let failure {
            app.rollback()
            return failure
        }
        let samples = app.pendingCount
        do throws(TSDBError) {
            try app.commit()
        } catch {
            return .failed(error.description)
        }
        if exemplars > 0 { stats.droppedExemplars.add(exemplars, ordering: .relaxed) }
        return .stored(samples: samples)
    }

    /// Prometheus's text for the samples it answers 400 (`storage.ErrOutOfOrderSample` …).
    static func outcome(_ error: TSDBError) -> Outcome {
        switch error.code {
        case .outOfOrderSample: .rejected("out of order sample")
        case .outOfBounds: .rejected("out of bounds")
        case .duplicateSampleForTimestamp: .rejected("duplicate sample for timestamp")
        case .tooFarInFuture, .timestampOutOfRange, .invalidLabels: .rejected(error.message)
        default: .failed(error.description)
        }
    }
}

/// Counters of the receiver, for logs and tests.
package final class RemoteWriteStats: Sendable {
    package let samples = Atomic<Int>(0)
    package let rejectedRequests = Atomic<Int>(0)
    /// Exemplars received and dropped: there is no exemplar storage.
    package let droppedExemplars = Atomic<Int>(0)
    package init() {}
}
