import TSDB

// STUB: the functions helper replaces this file. Contract below is fixed.

enum InstantFunctions {
    /// abs, ceil, exp, floor, ln, log2, log10, sqrt, sgn, the trigonometric ones, deg, rad.
    static func simple(_ name: String) -> (@Sendable (Double) -> Double)? { nil }
    /// day_of_month, day_of_week, day_of_year, days_in_month, hour, minute, month, year, of
    /// seconds since the epoch (UTC).
    static func date(_ name: String) -> (@Sendable (Double) -> Double)? { nil }
    /// Prometheus's `round(v, to_nearest)`.
    static func round(_ v: Double, toNearest: Double) -> Double { v }
}

enum Statistics {
    /// Prometheus 2.42's `quantile` (linear interpolation between closest ranks; q < 0 is
    /// -Inf, q > 1 is +Inf, NaN q is NaN, no values is NaN). Sorts `values`.
    static func quantile(_ q: Double, _ values: inout [Double]) -> Double { .nan }
}

enum HistogramQuantile {
    /// Prometheus 2.42's `bucketQuantile` over classic buckets given in any order.
    static func quantile(_ q: Double, buckets: [(upperBound: Double, count: Double)]) -> Double { .nan }
}
