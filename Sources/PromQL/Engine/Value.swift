import TSDB

/// One element of an instant vector: a series' labels and its value at one time.
public struct PromQLSample: Sendable, Equatable {
    public var labels: Labels
    /// Milliseconds since the epoch.
    public var timestamp: Int64
    public var value: Double

    public init(labels: Labels, timestamp: Int64, value: Double) {
        self.labels = labels
        self.timestamp = timestamp
        self.value = value
    }
}

/// One series of a range vector or of a range query's result: labels and points in time order.
public struct PromQLSeries: Sendable, Equatable {
    public var labels: Labels
    public var points: [Sample]

    public init(labels: Labels, points: [Sample]) {
        self.labels = labels
        self.points = points
    }
}

/// The result of a query, typed as Prometheus types it.
///
/// An instant query returns whatever type its expression has; a range query always returns
/// a matrix (a scalar expression becomes one series without labels). Vectors come sorted
/// as Prometheus returns them (by labels, unless `sort`, `sort_desc`, `topk` or `bottomk`
/// ordered them); matrices are sorted by labels.
public enum PromQLResult: Sendable, Equatable {
    case vector([PromQLSample])
    case matrix([PromQLSeries])
    case scalar(timestamp: Int64, value: Double)
    case string(timestamp: Int64, value: String)

    /// Prometheus's name of the type: `vector`, `matrix`, `scalar` or `string`.
    public var typeName: String {
        switch self {
        case .vector: "vector"
        case .matrix: "matrix"
        case .scalar: "scalar"
        case .string: "string"
        }
    }
}

/// What a query can read: ``DB`` and anything else that hands out queriers.
public protocol PromQLQueryable: Sendable {
    func querier(minTime: Int64, maxTime: Int64) throws(TSDBError) -> Querier
}

extension DB: PromQLQueryable {}
