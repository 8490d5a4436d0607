import Hummingbird
import Logging
import RemoteProtocol
import TSDB

/// `POST /api/v1/read`: remote read with the SAMPLES response, as Prometheus 2.42 answers it.
///
/// At most ``RemoteConfiguration/readConcurrentLimit`` reads run at once; the rest wait for
/// a slot. A query over more than ``RemoteConfiguration/readSampleLimit`` samples is a 400.
struct RemoteReadHandler: Sendable {
    let db: DB
    let configuration: RemoteConfiguration
    let logger: Logger
    let gate: QueryGate

    init(db: DB, configuration: RemoteConfiguration, logger: Logger) {
        self.db = db
        self.configuration = configuration
        self.logger = logger
        // 0 is no limit, as Prometheus's flag.
        self.gate = QueryGate(limit: configuration.readConcurrentLimit > 0 ? configuration.readConcurrentLimit : Int.max / 2)
    }

    func handle(_ request: Request) async -> Response {
        guard await gate.acquire(timeout: .seconds(3600)) else {
            return RemoteResponse.error(.internalServerError, "context canceled")
        }
        defer { gate.release() }
        if let refusal = RemoteResponse.unsupportedEncoding(request) { return refusal }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxReadBodyBytes)
        } catch {
            return RemoteResponse.error(.badRequest, "request body too large: more than \(configuration.maxReadBodyBytes) bytes")
        }
        let readRequest: Prometheus_ReadRequest
        do {
            let bytes = try SnappyBody.decode(Array(body.readableBytesView), limit: configuration.maxWriteDecodedBytes)
            readRequest = try Prometheus_ReadRequest(serializedBytes: bytes)
        } catch let e as SnappyBody.DecodeError {
            return RemoteResponse.error(.badRequest, e.description)
        } catch {
            return RemoteResponse.error(.badRequest, "proto: cannot parse ReadRequest: \(error)")
        }
        if let unsupported = Self.negotiate(readRequest.acceptedResponseTypes) {
            return RemoteResponse.error(.badRequest, unsupported)
        }
        let db = self.db
        let limit = configuration.readSampleLimit
        let answer = await runBlocking { Self.answer(readRequest, db: db, sampleLimit: limit) }
        switch answer {
        case .success(let compressed): return RemoteResponse.protobuf(compressed)
        case .failure(let failure): return RemoteResponse.error(failure.status, failure.message)
        }
    }

    struct Failure: Error {
        var status: HTTPResponse.Status
        var message: String
    }

    /// nil when SAMPLES may be answered: no types listed, or SAMPLES among them. Otherwise
    /// 2.42's refusal text. (STREAMED_XOR_CHUNKS is not served yet.)
    static func negotiate(_ accepted: [Prometheus_ReadRequest.ResponseType]) -> String? {
        if accepted.isEmpty || accepted.contains(.samples) { return nil }
        let names = accepted.map { t in
            switch t {
            case .samples: "SAMPLES"
            case .streamedXorChunks: "STREAMED_XOR_CHUNKS"
            case .UNRECOGNIZED(let n): String(n)
            }
        }
        return "server does not support any of the requested response types: [\(names.joined(separator: " "))]; supported: [SAMPLES]"
    }

    /// Runs every query and encodes the snappy-compressed `ReadResponse`. Blocking.
    static func answer(_ request: Prometheus_ReadRequest, db: DB, sampleLimit: Int) -> Result<[UInt8], Failure> {
        var response = Prometheus_ReadResponse()
        response.results.reserveCapacity(request.queries.count)
        for query in request.queries {
            do throws(TSDBError) {
                let matchers = try RemoteConversion.matchers(query.matchers)
                var result = Prometheus_QueryResult()
                var count = 0
                if !matchers.isEmpty {
                    let querier = try db.querier(minTime: query.startTimestampMs, maxTime: query.endTimestampMs)
                    for series in try querier.select(matchers) {
                        var ts = Prometheus_TimeSeries()
                        ts.labels = RemoteConversion.protoLabels(series.labels)
                        var it = series.makeIterator()
                        while let s = it.next() {
                            count += 1
                            if sampleLimit > 0 && count > sampleLimit {
                                return .failure(Failure(status: .badRequest, message: "exceeded sample limit (\(sampleLimit))"))
                            }
                            var p = Prometheus_Sample()
                            p.timestamp = s.timestamp
                            p.value = s.value
                            ts.samples.append(p)
                        }
                        if let e = it.error { throw e }
                        result.timeseries.append(ts)
                    }
                }
                response.results.append(result)
            } catch {
                let status: HTTPResponse.Status = error.code == .invalidMatcher ? .badRequest : .internalServerError
                return .failure(Failure(status: status, message: error.message))
            }
        }
        do {
            let bytes: [UInt8] = try response.serializedBytes()
            return .success(SnappyBody.encode(bytes))
        } catch {
            return .failure(Failure(status: .internalServerError, message: "proto: cannot encode ReadResponse: \(error)"))
        }
    }
}
