/// Prometheus 2.42's `quantile` (promql/quantile.go).
enum Statistics {
    /// Prometheus 2.42's `quantile` (linear interpolation between closest ranks; q < 0 is
    /// -Inf, q > 1 is +Inf, NaN q is NaN, no values is NaN). Sorts `values`.
    static func quantile(_ q: Double, _ values: inout [Double]) -> Double {
        if values.isEmpty || q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        sortNaNFirst(&values)

        let n = Double(values.count)
        // Between two samples: their weighted average.
        let rank = q * (n - 1)
        let lowerIndex = Swift.max(0, rank.rounded(.down))
        let upperIndex = Swift.min(n - 1, lowerIndex + 1)
        let weight = rank - rank.rounded(.down)
        let lower = values[Swift.min(Int(lowerIndex), values.count - 1)]
        let upper = values[Swift.min(Int(upperIndex), values.count - 1)]
        return lower * (1 - weight) + upper * weight
    }

    /// The order of Prometheus's `vectorByValueHeap`: NaN before everything, then ascending.
    static func sortNaNFirst(_ values: inout [Double]) {
        var nans = 0
        for i in values.indices where values[i].isNaN {
            values.swapAt(i, nans)
            nans += 1
        }
        values[nans...].sort()
    }
}
