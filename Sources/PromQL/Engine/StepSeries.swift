import TSDB

/// The steps a query, or a subquery, is evaluated at: `start`, `start + interval`, … up to
/// `end`. An instant query has one step and interval 0.
struct Grid: Sendable {
    let start: Int64
    let end: Int64
    let interval: Int64
    let count: Int

    init(start: Int64, end: Int64, interval: Int64) {
        self.start = start
        self.end = end
        self.interval = interval
        let (span, overflow) = end.subtractingReportingOverflow(start)
        count = interval <= 0 || end < start ? 1 : overflow ? Int.max : Int(span / interval) &+ 1
    }

    @inline(__always) func time(_ step: Int) -> Int64 { start &+ Int64(step) &* interval }
}

/// A value of an instant-vector expression at one step.
struct StepPoint: Sendable {
    var step: Int
    var value: Double
}

/// An instant-vector expression's series over the grid: the steps where it has a value.
struct StepSeries: Sendable {
    var labels: Labels
    var points: [StepPoint]
}

/// What evaluating a node gives.
enum EvalValue {
    /// An instant vector at every step.
    case vector([StepSeries])
    /// A scalar at every step (`grid.count` values).
    case scalar([Double])
    case string(String)
    /// A range vector, only as the result of an instant query's top-level matrix selector or subquery.
    case matrix([PromQLSeries])
}

/// Prometheus's staleness marker, a NaN with a payload no arithmetic produces.
package let staleNaNBits: UInt64 = 0x7ff0_0000_0000_0002

@inline(__always) func isStaleNaN(_ v: Double) -> Bool { v.bitPattern == staleNaNBits }

extension Labels {
    static let empty = Labels(uncheckedSorted: [])

    /// The set without `__name__`.
    var droppingMetricName: Labels {
        guard contains(where: { $0.name == "__name__" }) else { return self }
        return Labels(uncheckedSorted: filter { $0.name != "__name__" })
    }

    /// Only the labels named in `names`.
    func keeping(_ names: Set<String>) -> Labels {
        Labels(uncheckedSorted: filter { names.contains($0.name) })
    }

    /// Without the labels named in `names`.
    func removing(_ names: Set<String>) -> Labels {
        Labels(uncheckedSorted: filter { !names.contains($0.name) })
    }

    /// The set with `name` set to `value` (removed when `value` is empty).
    func setting(_ name: String, _ value: String) -> Labels {
        var out: [Label] = []
        out.reserveCapacity(count + 1)
        var placed = value.isEmpty
        for l in self {
            if l.name == name { continue }
            if !placed && Array(name.utf8).lexicographicallyPrecedes(Array(l.name.utf8)) {
                out.append(Label(name: name, value: value))
                placed = true
            }
            out.append(l)
        }
        if !placed { out.append(Label(name: name, value: value)) }
        return Labels(uncheckedSorted: out)
    }
}

enum StepSeriesOps {
    /// Prometheus's check after a whole-matrix transformation (unary minus, range functions):
    /// two series with the same labels are an error.
    static func checkUniqueLabels(_ series: [StepSeries]) throws(PromQLError) {
        var seen = Set<Labels>()
        seen.reserveCapacity(series.count)
        for s in series where !seen.insert(s.labels).inserted {
            throw PromQLError(.execution, "vector cannot contain metrics with the same labelset")
        }
    }

    /// Joins series with equal labels, as Prometheus's step-by-step evaluation does; two of
    /// them with a value at the same step are the duplicate-labelset error.
    static func mergeEqualLabels(_ series: [StepSeries]) throws(PromQLError) -> [StepSeries] {
        var index: [Labels: Int] = [:]
        index.reserveCapacity(series.count)
        var out: [StepSeries] = []
        var merged = false
        for s in series {
            if let i = index[s.labels] {
                out[i].points.append(contentsOf: s.points)
                merged = true
            } else {
                index[s.labels] = out.count
                out.append(s)
            }
        }
        guard merged else { return out }
        for i in out.indices {
            out[i].points.sort { $0.step < $1.step }
            var prev = -1
            for p in out[i].points {
                if p.step == prev { throw PromQLError(.execution, "vector cannot contain metrics with the same labelset") }
                prev = p.step
            }
        }
        return out
    }
}
