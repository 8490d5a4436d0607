import TSDB

// STUB: the functions helper replaces this file. Contract below is fixed.

/// A function over a range vector, evaluated on one series' window at one step.
enum RangeFunction: Sendable, Hashable {
    case rate, increase, delta, irate, idelta, deriv, predictLinear, holtWinters, changes, resets
    case avgOverTime, minOverTime, maxOverTime, sumOverTime, countOverTime, quantileOverTime
    case stddevOverTime, stdvarOverTime, lastOverTime, presentOverTime

    init?(name: String) { return nil }

    /// Prometheus's error for smoothing or trend factors outside (0, 1), nil when both are valid.
    static func validateHoltWinters(sf: Double, tf: Double) -> PromQLError? { nil }

    /// Whether the result keeps the input series' `__name__` (Prometheus 2.42 drops it for all but `last_over_time`).
    var keepsMetricName: Bool { self == .lastOverTime }

    /// - Parameters:
    ///   - points: the window's samples in time order, stale markers removed; never empty.
    ///   - rangeStart, rangeEnd: the window's bounds in ms, `[t - offset - range, t - offset]`.
    ///   - evalTime: the step's time in ms (`predict_linear` extrapolates from it).
    ///   - params: the scalar arguments at this step, in argument order, without the range vector.
    /// - Returns: nil when the function has no value for this window (rate of one sample …).
    func evaluate(_ points: ArraySlice<Sample>, rangeStart: Int64, rangeEnd: Int64, evalTime: Int64, params: [Double]) -> Double? {
        nil
    }
}
