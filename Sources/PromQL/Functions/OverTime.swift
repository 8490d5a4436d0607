import TSDB

/// The `*_over_time` aggregations, `changes` and `resets`, as in Prometheus 2.42.
enum OverTime {
    /// `changes`: how often the value changed; NaN followed by NaN is no change.
    static func changes(_ points: ArraySlice<Sample>) -> Double {
        guard var previous = points.first?.value else { return 0 }
        var count = 0
        for point in points.dropFirst() {
            let current = point.value
            if current != previous && !(current.isNaN && previous.isNaN) { count += 1 }
            previous = current
        }
        return Double(count)
    }

    /// `resets`: how often the value dropped.
    static func resets(_ points: ArraySlice<Sample>) -> Double {
        guard var previous = points.first?.value else { return 0 }
        var count = 0
        for point in points.dropFirst() {
            if point.value < previous { count += 1 }
            previous = point.value
        }
        return Double(count)
    }

    /// `avg_over_time`: an incremental mean with Kahan compensation, so huge values do not
    /// overflow the way a sum would; an infinite mean stays put unless a NaN or an infinity
    /// of the other sign arrives.
    static func average(_ points: ArraySlice<Sample>) -> Double {
        var mean = 0.0, count = 0.0, c = 0.0
        for point in points {
            let v = point.value
            count += 1
            if mean.isInfinite {
                // Inf - Inf would make NaN out of a mean that is already right.
                if v.isInfinite && (mean > 0) == (v > 0) { continue }
                if !v.isInfinite && !v.isNaN { continue }
            }
            (mean, c) = kahanSumInc(v / count - mean / count, mean, c)
        }
        return mean.isInfinite ? mean : mean + c
    }

    /// `min_over_time`: a NaN is replaced by any later value.
    static func minimum(_ points: ArraySlice<Sample>) -> Double {
        guard var result = points.first?.value else { return .nan }
        for point in points where point.value < result || result.isNaN {
            result = point.value
        }
        return result
    }

    /// `max_over_time`: a NaN is replaced by any later value.
    static func maximum(_ points: ArraySlice<Sample>) -> Double {
        guard var result = points.first?.value else { return .nan }
        for point in points where point.value > result || result.isNaN {
            result = point.value
        }
        return result
    }

    /// `sum_over_time` with Kahan–Neumaier compensation.
    static func sum(_ points: ArraySlice<Sample>) -> Double {
        var sum = 0.0, c = 0.0
        for point in points {
            (sum, c) = kahanSumInc(point.value, sum, c)
        }
        return sum.isInfinite ? sum : sum + c
    }

    /// The population variance for `stdvar_over_time` (and `stddev_over_time`, its square
    /// root): Welford's algorithm with Kahan-compensated mean and sum of squares.
    static func variance(_ points: ArraySlice<Sample>) -> Double {
        var count = 0.0
        var mean = 0.0, cMean = 0.0
        var aux = 0.0, cAux = 0.0
        for point in points {
            let v = point.value
            count += 1
            let delta = v - (mean + cMean)
            (mean, cMean) = kahanSumInc(delta / count, mean, cMean)
            (aux, cAux) = kahanSumInc(delta * (v - (mean + cMean)), aux, cAux)
        }
        return (aux + cAux) / count
    }
}
