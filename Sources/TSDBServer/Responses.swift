import PromQL
import TSDB

/// Prometheus's `errorType` values and the status codes `respondError` gives them.
public enum APIErrorType: String, Sendable {
    case timeout, canceled, execution, badData = "bad_data", `internal`, unavailable, notFound = "not_found"

    public var statusCode: Int {
        switch self {
        case .badData: 400
        case .execution: 422
        case .canceled, .timeout: 503
        case .internal: 500
        case .notFound: 404
        // Prometheus falls through to 500 for "unavailable" (admin APIs disabled).
        case .unavailable: 500
        }
    }

    init(_ kind: PromQLError.Kind) {
        switch kind {
        case .parse: self = .badData
        case .execution, .tooManySamples: self = .execution
        case .timeout: self = .timeout
        case .canceled: self = .canceled
        case .storage: self = .internal
        }
    }
}

/// An API answer: status, body and its content type.
public struct APIResponse: Sendable, Error {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String

    public init(status: Int, body: [UInt8], contentType: String = "application/json") {
        self.status = status
        self.body = body
        self.contentType = contentType
    }

    /// `{"status":"success","data":...}` with the data written by `data`.
    static func success(warnings: [String] = [], _ data: (inout JSONWriter) -> Void) -> APIResponse {
        var w = JSONWriter(capacity: 1024)
        w.raw(#"{"status":"success","data":"#)
        data(&w)
        if !warnings.isEmpty {
            w.raw(#","warnings":"#)
            w.stringArray(warnings)
        }
        w.byte(0x7D)
        return APIResponse(status: 200, body: w.bytes)
    }

    static func error(_ type: APIErrorType, _ message: String, warnings: [String] = []) -> APIResponse {
        var w = JSONWriter(capacity: 128 + message.utf8.count)
        w.raw(#"{"status":"error","errorType":"#)
        w.string(type.rawValue)
        w.raw(#","error":"#)
        w.string(message)
        if !warnings.isEmpty {
            w.raw(#","warnings":"#)
            w.stringArray(warnings)
        }
        w.byte(0x7D)
        return APIResponse(status: type.statusCode, body: w.bytes)
    }

    static func invalidParameter(_ name: String, _ message: String) -> APIResponse {
        .error(.badData, "invalid parameter \(goQuote(name)): \(message)")
    }

    /// What Prometheus sends for a handler that returns no data: 204 and no body.
    static let noContent = APIResponse(status: 204, body: [], contentType: "")
}

/// Timings for `stats=...`, in seconds as Prometheus reports them.
struct QueryTimings {
    var evalTotal: Double = 0
    var resultSort: Double = 0
    var preparation: Double = 0
    var innerEval: Double = 0
    var execQueue: Double = 0
    var execTotal: Double = 0
}

enum ResultJSON {
    struct Stats {
        var timings: QueryTimings
        var samples: PromQLQueryStats
    }

    /// `{"resultType":"...","result":...}` plus `stats` when asked for.
    static func write(_ result: PromQLResult, stats: Stats?, to w: inout JSONWriter) {
        w.raw(#"{"resultType":"#)
        w.string(result.typeName)
        w.raw(#","result":"#)
        switch result {
        case .vector(let samples):
            w.byte(0x5B)
            for (i, s) in samples.enumerated() {
                if i > 0 { w.byte(0x2C) }
                w.raw(#"{"metric":"#)
                w.labels(s.labels)
                w.raw(#","value":"#)
                w.point(timestamp: s.timestamp, value: s.value)
                w.byte(0x7D)
            }
            w.byte(0x5D)
        case .matrix(let series):
            w.byte(0x5B)
            for (i, s) in series.enumerated() {
                if i > 0 { w.byte(0x2C) }
                w.raw(#"{"metric":"#)
                w.labels(s.labels)
                if !s.points.isEmpty {
                    w.raw(#","values":["#)
                    for (j, p) in s.points.enumerated() {
                        if j > 0 { w.byte(0x2C) }
                        w.point(timestamp: p.timestamp, value: p.value)
                    }
                    w.byte(0x5D)
                }
                w.byte(0x7D)
            }
            w.byte(0x5D)
        case let .scalar(timestamp, value):
            w.byte(0x5B)
            w.floatSeconds(timestamp)
            w.byte(0x2C)
            w.scalarValue(value)
            w.byte(0x5D)
        case let .string(timestamp, value):
            w.byte(0x5B)
            w.floatSeconds(timestamp)
            w.byte(0x2C)
            w.string(value)
            w.byte(0x5D)
        }
        if let stats {
            let t = stats.timings
            w.raw(#","stats":{"timings":{"evalTotalTime":"#)
            seconds(t.evalTotal, &w)
            w.raw(#","resultSortTime":"#)
            seconds(t.resultSort, &w)
            w.raw(#","queryPreparationTime":"#)
            seconds(t.preparation, &w)
            w.raw(#","innerEvalTime":"#)
            seconds(t.innerEval, &w)
            w.raw(#","execQueueTime":"#)
            seconds(t.execQueue, &w)
            w.raw(#","execTotalTime":"#)
            seconds(t.execTotal, &w)
            w.raw(#"},"samples":{"#)
            if let perStep = stats.samples.totalQueryableSamplesPerStep {
                w.raw(#""totalQueryableSamplesPerStep":["#)
                for (i, s) in perStep.enumerated() {
                    if i > 0 { w.byte(0x2C) }
                    w.byte(0x5B)
                    w.floatSeconds(s.timestamp)
                    w.byte(0x2C)
                    w.int(s.samples)
                    w.byte(0x5D)
                }
                w.raw("],")
            }
            w.raw(#""totalQueryableSamples":"#)
            w.int(stats.samples.totalQueryableSamples)
            w.raw(#","peakSamples":"#)
            w.int(stats.samples.peakSamples)
            w.raw("}}")
        }
        w.byte(0x7D)
    }

    /// A float as Go's encoding/json writes float64.
    static func seconds(_ v: Double, _ w: inout JSONWriter) {
        w.write(maxCount: GoFloat.maxLength) { GoFloat.write(v, format: GoFloat.jsonFormat(v), to: $0) }
    }
}
