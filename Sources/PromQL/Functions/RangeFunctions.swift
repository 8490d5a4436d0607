import TSDB

/// A function over a range vector, evaluated on one series' window at one step.
///
/// The algorithms are Prometheus 2.42's (promql/functions.go), float samples only.
enum RangeFunction: Sendable, Hashable {
    case rate, increase, delta, irate, idelta, deriv, predictLinear, holtWinters, changes, resets
    case avgOverTime, minOverTime, maxOverTime, sumOverTime, countOverTime, quantileOverTime
    case stddevOverTime, stdvarOverTime, lastOverTime, presentOverTime

    init?(name: String) {
        switch name {
        case "rate": self = .rate
        case "increase": self = .increase
        case "delta": self = .delta
        case "irate": self = .irate
        case "idelta": self = .idelta
        case "deriv": self = .deriv
        case "predict_linear": self = .predictLinear
        case "holt_winters": self = .holtWinters
        case "changes": self = .changes
        case "resets": self = .resets
        case "avg_over_time": self = .avgOverTime
        case "min_over_time": self = .minOverTime
        case "max_over_time": self = .maxOverTime
        case "sum_over_time": self = .sumOverTime
        case "count_over_time": self = .countOverTime
        case "quantile_over_time": self = .quantileOverTime
        case "stddev_over_time": self = .stddevOverTime
        case "stdvar_over_time": self = .stdvarOverTime
        case "last_over_time": self = .lastOverTime
        case "present_over_time": self = .presentOverTime
        default: return nil
        }
    }

    /// Whether the result keeps the input series' `__name__` (Prometheus 2.42 drops it for all but `last_over_time`).
    ///
    /// 2.42's engine (`rangeEval` for a `Call` with a matrix argument) drops the name unless
    /// `e.Func.Name == "last_over_time"`.
    var keepsMetricName: Bool { self == .lastOverTime }

    /// - Parameters:
    ///   - points: the window's samples in time order, stale markers removed; never empty.
    ///   - rangeStart, rangeEnd: the window's bounds in ms, `[t - offset - range, t - offset]`.
    ///   - evalTime: the step's time in ms (`predict_linear` extrapolates from it).
    ///   - params: the scalar arguments at this step, in argument order, without the range vector.
    /// - Returns: nil when the function has no value for this window (rate of one sample …).
    func evaluate(_ points: ArraySlice<Sample>, rangeStart: Int64, rangeEnd: Int64, evalTime: Int64, params: [Double]) -> Double? {
        guard !points.isEmpty else { return nil }
        switch self {
        case .rate:
            return RangeMath.extrapolatedRate(points, rangeStart: rangeStart, rangeEnd: rangeEnd, isCounter: true, isRate: true)
        case .increase:
            return RangeMath.extrapolatedRate(points, rangeStart: rangeStart, rangeEnd: rangeEnd, isCounter: true, isRate: false)
        case .delta:
            return RangeMath.extrapolatedRate(points, rangeStart: rangeStart, rangeEnd: rangeEnd, isCounter: false, isRate: false)
        case .irate:
            return RangeMath.instantValue(points, isRate: true)
        case .idelta:
            return RangeMath.instantValue(points, isRate: false)
        case .deriv:
            guard points.count >= 2, let first = points.first else { return nil }
            // Regression around the first sample's time, for accuracy (Prometheus issue 2674).
            return RangeMath.linearRegression(points, interceptTime: first.timestamp).slope
        case .predictLinear:
            guard points.count >= 2, let duration = params.first else { return nil }
            let (slope, intercept) = RangeMath.linearRegression(points, interceptTime: evalTime)
            return slope * duration + intercept
        case .holtWinters:
            guard params.count >= 2, Self.validateHoltWinters(sf: params[0], tf: params[1]) == nil else { return nil }
            return RangeMath.holtWinters(points, sf: params[0], tf: params[1])
        case .changes:
            return OverTime.changes(points)
        case .resets:
            return OverTime.resets(points)
        case .avgOverTime:
            return OverTime.average(points)
        case .minOverTime:
            return OverTime.minimum(points)
        case .maxOverTime:
            return OverTime.maximum(points)
        case .sumOverTime:
            return OverTime.sum(points)
        case .countOverTime:
            return Double(points.count)
        case .quantileOverTime:
            guard let q = params.first else { return nil }
            var values = points.map(\.value)
            return Statistics.quantile(q, &values)
        case .stddevOverTime:
            return OverTime.variance(points).squareRoot()
        case .stdvarOverTime:
            return OverTime.variance(points)
        case .lastOverTime:
            return points.last?.value
        case .presentOverTime:
            return 1
        }
    }

    /// Prometheus 2.42 panics (a query error) when `holt_winters`' factors are outside (0, 1);
    /// this is that error, the smoothing factor checked first. NaN passes, as in Go (every
    /// comparison with NaN is false).
    static func validateHoltWinters(sf: Double, tf: Double) -> PromQLError? {
        if sf <= 0 || sf >= 1 {
            return PromQLError(.execution, "invalid smoothing factor. Expected: 0 < sf < 1, got: \(goFormatFixed(sf))")
        }
        if tf <= 0 || tf >= 1 {
            return PromQLError(.execution, "invalid trend factor. Expected: 0 < tf < 1, got: \(goFormatFixed(tf))")
        }
        return nil
    }
}

/// Kahan–Neumaier summation step, Prometheus's `kahanSumInc`: returns the new sum and the new
/// compensation.
@inline(__always)
func kahanSumInc(_ inc: Double, _ sum: Double, _ c: Double) -> (sum: Double, c: Double) {
    let t = sum + inc
    var c = c
    // Neumaier's improvement: take the larger term's lost low bits.
    if Swift.abs(sum) >= Swift.abs(inc) {
        c += (sum - t) + inc
    } else {
        c += (inc - t) + sum
    }
    return (t, c)
}

/// The rate family, instant rates, regression and Holt-Winters, as in 2.42.
enum RangeMath {
    /// Seconds between two millisecond timestamps, the Go way: int64 difference (wrapping),
    /// then float64, then / 1000.
    @inline(__always)
    static func seconds(_ a: Int64, minus b: Int64) -> Double {
        Double(a &- b) / 1000
    }

    /// `extrapolatedRate`: rate, increase (counters) and delta (gauges).
    static func extrapolatedRate(_ points: ArraySlice<Sample>, rangeStart: Int64, rangeEnd: Int64,
                                 isCounter: Bool, isRate: Bool) -> Double? {
        // No sense in a rate of fewer than two points.
        guard points.count >= 2, let first = points.first, let last = points.last else { return nil }

        var result = last.value - first.value
        if isCounter {
            // Each drop is a counter reset: add back what the counter had before it.
            var previous = first.value
            for point in points.dropFirst() {
                if point.value < previous { result += previous }
                previous = point.value
            }
        }

        var durationToStart = seconds(first.timestamp, minus: rangeStart)
        let durationToEnd = seconds(rangeEnd, minus: last.timestamp)
        let sampledInterval = seconds(last.timestamp, minus: first.timestamp)
        let averageDurationBetweenSamples = sampledInterval / Double(points.count - 1)

        if isCounter && result > 0 && first.value >= 0 {
            // A counter cannot go below zero: don't extrapolate to before where the line
            // through the samples would cross zero.
            let durationToZero = sampledInterval * (first.value / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }

        // Extrapolate to a boundary when the first/last sample is close to it (within 1.1
        // average intervals); otherwise by half an average interval.
        let threshold = averageDurationBetweenSamples * 1.1
        var extrapolateToInterval = sampledInterval
        extrapolateToInterval += durationToStart < threshold ? durationToStart : averageDurationBetweenSamples / 2
        extrapolateToInterval += durationToEnd < threshold ? durationToEnd : averageDurationBetweenSamples / 2

        var factor = extrapolateToInterval / sampledInterval
        if isRate {
            // The selector's range in seconds (rangeEnd - rangeStart).
            factor /= seconds(rangeEnd, minus: rangeStart)
        }
        return result * factor
    }

    /// `instantValue`: irate (with counter reset handling) and idelta over the last two points.
    static func instantValue(_ points: ArraySlice<Sample>, isRate: Bool) -> Double? {
        guard points.count >= 2 else { return nil }
        let last = points[points.index(before: points.endIndex)]
        let previous = points[points.index(points.endIndex, offsetBy: -2)]

        var result: Double
        if isRate && last.value < previous.value {
            // Counter reset.
            result = last.value
        } else {
            result = last.value - previous.value
        }
        let sampledInterval = last.timestamp &- previous.timestamp
        // Avoid dividing by zero.
        guard sampledInterval != 0 else { return nil }
        if isRate {
            result /= Double(sampledInterval) / 1000
        }
        return result
    }

    /// `linearRegression`: least squares with Kahan sums; x is seconds from `interceptTime`.
    /// Returns the slope and the value at `interceptTime`.
    static func linearRegression(_ points: ArraySlice<Sample>, interceptTime: Int64) -> (slope: Double, intercept: Double) {
        guard let first = points.first else { return (.nan, .nan) }
        var n = 0.0
        var sumX = 0.0, cX = 0.0
        var sumY = 0.0, cY = 0.0
        var sumXY = 0.0, cXY = 0.0
        var sumX2 = 0.0, cX2 = 0.0
        let initY = first.value
        var constY = true
        for (i, point) in points.enumerated() {
            // Any y different from the first makes the series non-constant (NaN always does).
            if constY && i > 0 && point.value != initY { constY = false }
            n += 1
            let x = seconds(point.timestamp, minus: interceptTime)
            (sumX, cX) = kahanSumInc(x, sumX, cX)
            (sumY, cY) = kahanSumInc(point.value, sumY, cY)
            (sumXY, cXY) = kahanSumInc(x * point.value, sumXY, cXY)
            (sumX2, cX2) = kahanSumInc(x * x, sumX2, cX2)
        }
        if constY {
            if initY.isInfinite { return (.nan, .nan) }
            return (0, initY)
        }
        sumX += cX
        sumY += cY
        sumXY += cXY
        sumX2 += cX2

        let covXY = sumXY - sumX * sumY / n
        let varX = sumX2 - sumX * sumX / n
        let slope = covXY / varX
        let intercept = sumY / n - slope * sumX / n
        return (slope, intercept)
    }

    /// `funcHoltWinters`: double exponential smoothing; nil with fewer than two points.
    static func holtWinters(_ points: ArraySlice<Sample>, sf: Double, tf: Double) -> Double? {
        guard points.count >= 2 else { return nil }
        let values = Array(points.lazy.map(\.value))
        var s0 = 0.0
        var s1 = values[0]
        var b = values[1] - values[0]
        for i in 1..<values.count {
            // The raw value scaled by the smoothing factor.
            let x = sf * values[i]
            // The trend at this point (the initial trend for the first step).
            if i - 1 != 0 {
                b = tf * (s1 - s0) + (1 - tf) * b
            }
            let y = (1 - sf) * (s1 + b)
            s0 = s1
            s1 = x + y
        }
        return s1
    }
}
