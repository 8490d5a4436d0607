import Testing
import TSDBTestSupport
import TSDB
@testable import PromQL

/// Cases worked out by hand from Prometheus 2.42's definitions (the derivation is next to
/// each), plus inputs that must not trap.
@Suite(.heavy) struct HandComputedTests {
    /// Samples at the given seconds.
    func pts(_ pairs: [(Int64, Double)]) -> ArraySlice<Sample> {
        pairs.map { Sample(timestamp: $0.0 * 1000, value: $0.1) }[...]
    }

    func eval(_ f: RangeFunction, _ points: ArraySlice<Sample>, _ start: Int64, _ end: Int64,
              at time: Int64? = nil, _ params: [Double] = []) -> Double? {
        f.evaluate(points, rangeStart: start * 1000, rangeEnd: end * 1000, evalTime: (time ?? end) * 1000, params: params)
    }

    @Test func names() {
        let names = ["rate", "increase", "delta", "irate", "idelta", "deriv", "predict_linear", "holt_winters",
                     "changes", "resets", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
                     "count_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time",
                     "last_over_time", "present_over_time"]
        #expect(Set(names.compactMap(RangeFunction.init(name:))).count == 20)
        #expect(RangeFunction(name: "absent_over_time") == nil)
        #expect(RangeFunction(name: "Rate") == nil)
        #expect(names.compactMap(RangeFunction.init(name:)).filter(\.keepsMetricName) == [.lastOverTime])
        #expect(InstantFunctions.simple("pi") == nil)
        #expect(InstantFunctions.date("time") == nil)
    }

    @Test func rateWithReset() {
        // 0 10 20 5 15 over exactly the window: increase 15 + 20 (the reset adds back 20) = 35,
        // no extrapolation (both samples on the bounds); rate = 35 / 240.
        let p = pts([(0, 0), (60, 10), (120, 20), (180, 5), (240, 15)])
        #expect(eval(.increase, p, 0, 240) == 35)
        #expect(eval(.rate, p, 0, 240) == 35 * (1.0 / 240))
        #expect(eval(.delta, p, 0, 240) == 15)
        #expect(eval(.resets, p, 0, 240) == 1)
        #expect(eval(.changes, p, 0, 240) == 4)
    }

    @Test func extrapolation() {
        // Both ends 30s inside a 180s window, average interval 60s (threshold 66s): extrapolate
        // by 30s each way, 20 × 180/120 = 30.
        let p = pts([(60, 10), (120, 20), (180, 30)])
        #expect(eval(.increase, p, 30, 210) == 30)
        #expect(eval(.rate, p, 30, 210) == 20 * (1.5 / 180))
        // Start 300s before the first sample (≥ threshold): half an interval only, 30 × 210/180.
        // The zero point (600s before) is further away than that, so no clamp.
        let q = pts([(0, 100), (60, 110), (120, 120), (180, 130)])
        #expect(eval(.increase, q, -300, 180) == 30.0 * (210.0 / 180))
        // End 300s after the last sample: the same on the right.
        #expect(eval(.increase, q, 0, 480) == 30.0 * (210.0 / 180))
    }

    @Test func counterZeroClamp() {
        // 1 → 11 in 60s: the line reaches 0 6s before the first sample, closer than the 60s to
        // the window start, so extrapolate only 6s: 10 × 66/60 = 11. delta does not clamp: 20.
        let p = pts([(60, 1), (120, 11)])
        #expect(eval(.increase, p, 0, 120) == 10.0 * (66.0 / 60))
        #expect(eval(.delta, p, 0, 120) == 20)
        // A negative first value disables the clamp.
        #expect(eval(.increase, pts([(60, -1), (120, 9)]), 0, 120) == 20)
    }

    @Test func tooFewPoints() {
        let one = pts([(60, 5)])
        for f in [RangeFunction.rate, .increase, .delta, .irate, .idelta, .deriv] {
            #expect(eval(f, one, 0, 120) == nil)
        }
        #expect(eval(.predictLinear, one, 0, 120, [60]) == nil)
        #expect(eval(.holtWinters, one, 0, 120, [0.5, 0.5]) == nil)
        #expect(eval(.changes, one, 0, 120) == 0)
        #expect(eval(.countOverTime, one, 0, 120) == 1)
        #expect(eval(.presentOverTime, one, 0, 120) == 1)
        // Same timestamp twice: irate would divide by zero, so no value.
        #expect(eval(.irate, pts([(60, 1), (60, 2)]), 0, 120) == nil)
    }

    @Test func instantRates() {
        // Last two samples 10 → 4 in 60s: a reset, so irate counts 4; idelta is -6.
        let p = pts([(0, 1), (60, 10), (120, 4)])
        #expect(eval(.irate, p, 0, 120) == 4.0 / 60)
        #expect(eval(.idelta, p, 0, 120) == -6)
    }

    @Test func regression() {
        // y = t: slope 1/s; predict_linear 60s past the evaluation time (120s) is 180.
        let p = pts([(0, 0), (60, 60), (120, 120)])
        #expect(eval(.deriv, p, 0, 120) == 1)
        #expect(eval(.predictLinear, p, 0, 120, [60]) == 180)
        // Constant: slope 0, prediction the constant; constant infinity: NaN.
        #expect(eval(.deriv, pts([(0, 5), (60, 5)]), 0, 60) == 0)
        #expect(eval(.predictLinear, pts([(0, 5), (60, 5)]), 0, 60, [1000]) == 5)
        #expect(eval(.deriv, pts([(0, .infinity), (60, .infinity)]), 0, 60)?.isNaN == true)
    }

    @Test func holtWinters() {
        // 1 2 3, sf = tf = 0.5: s=1, b=1; then s = 0.5·2 + 0.5·(1+1) = 2; b = 0.5·(2-1) + 0.5·1 = 1,
        // s = 0.5·3 + 0.5·(2+1) = 3.
        #expect(eval(.holtWinters, pts([(0, 1), (60, 2), (120, 3)]), 0, 120, [0.5, 0.5]) == 3)
        #expect(eval(.holtWinters, pts([(0, 1), (60, 2)]), 0, 120, [1, 0.5]) == nil)
    }

    @Test func overTime() {
        #expect(eval(.changes, pts([(0, 1), (1, .nan), (2, .nan), (3, 2), (4, 2), (5, .nan)]), 0, 5) == 3)
        #expect(eval(.resets, pts([(0, 5), (1, 3), (2, 4), (3, 1)]), 0, 3) == 2)
        // A NaN is replaced by any later value; a later NaN does not replace a number.
        let nanFirst = pts([(0, .nan), (1, 3), (2, 1)])
        #expect(eval(.minOverTime, nanFirst, 0, 2) == 1)
        #expect(eval(.maxOverTime, nanFirst, 0, 2) == 3)
        #expect(eval(.minOverTime, pts([(0, 1), (1, .nan)]), 0, 1) == 1)
        // The incremental mean does not overflow where a sum would.
        #expect(eval(.avgOverTime, pts([(0, 1e308), (1, 1e308)]), 0, 1) == 1e308)
        #expect(eval(.sumOverTime, pts([(0, 1e308), (1, 1e308)]), 0, 1) == .infinity)
        #expect(eval(.avgOverTime, pts([(0, .infinity), (1, 1)]), 0, 1) == .infinity)
        #expect(eval(.avgOverTime, pts([(0, .infinity), (1, -.infinity)]), 0, 1)?.isNaN == true)
        // Kahan: 1 + 1e100 + 1 - 1e100 = 2.
        #expect(eval(.sumOverTime, pts([(0, 1), (1, 1e100), (2, 1), (3, -1e100)]), 0, 3) == 2)
        // Population standard deviation of 2 4 4 4 5 5 7 9 is 2.
        let s = pts([(0, 2), (1, 4), (2, 4), (3, 4), (4, 5), (5, 5), (6, 7), (7, 9)])
        #expect(Swift.abs((eval(.stddevOverTime, s, 0, 7) ?? 0) - 2) < 1e-12)
        #expect(Swift.abs((eval(.stdvarOverTime, s, 0, 7) ?? 0) - 4) < 1e-12)
        #expect(eval(.lastOverTime, s, 0, 7) == 9)
        // Median of 1 2 3 4: rank 1.5, halfway between 2 and 3.
        let q = pts([(0, 4), (1, 1), (2, 3), (3, 2)])
        #expect(eval(.quantileOverTime, q, 0, 3, [0.5]) == 2.5)
        #expect(eval(.quantileOverTime, q, 0, 3, [-1]) == -.infinity)
        #expect(eval(.quantileOverTime, q, 0, 3, [2]) == .infinity)
        #expect(eval(.quantileOverTime, q, 0, 3, [.nan])?.isNaN == true)
    }

    @Test func quantile() {
        var none: [Double] = []
        #expect(Statistics.quantile(0.5, &none).isNaN)
        var v: [Double] = [3, .nan, 1, 2]
        // NaN sorts first: [NaN, 1, 2, 3]; q = 1 is the largest, q = 0 the NaN.
        #expect(Statistics.quantile(1, &v) == 3)
        #expect(Statistics.quantile(0, &v).isNaN)
        #expect(Statistics.quantile(0.5, &v) == 1.5)
    }

    @Test func histogramQuantile() {
        let q = HistogramQuantile.quantile
        // Rank 15 of 30 falls in (1, 2] holding 10..20: 1 + 1 × 5/10.
        #expect(q(0.5, [(1, 10), (2, 20), (.infinity, 30)]) == 1.5)
        #expect(q(0.5, [(.infinity, 30), (2, 20), (1, 10)]) == 1.5)
        // No +Inf bucket, or only one bucket: NaN.
        #expect(q(0.5, [(1, 10), (2, 20)]).isNaN)
        #expect(q(0.5, [(.infinity, 20)]).isNaN)
        #expect(q(0.5, []).isNaN)
        // Made monotonic (2 → 10), then rank 15 is in the +Inf bucket: the second-highest bound.
        #expect(q(0.5, [(1, 10), (2, 5), (.infinity, 30)]) == 2)
        // The lowest bucket interpolates from 0 when its bound is positive …
        #expect(q(0.5, [(4, 10), (.infinity, 10)]) == 2)
        // … and is the answer itself when its bound is ≤ 0.
        #expect(q(0.5, [(-1, 10), (.infinity, 10)]) == -1)
        // Same bound twice: counts add up (1 → 7), rank 7 of 14 is the top of that bucket.
        #expect(q(0.5, [(1, 3), (1, 4), (.infinity, 14)]) == 1)
        #expect(q(0.5, [(1, 0), (.infinity, 0)]).isNaN)
        #expect(q(-0.1, [(1, 0)]) == -.infinity)
        #expect(q(1.1, []) == .infinity)
        #expect(q(.nan, [(1, 1), (.infinity, 2)]).isNaN)
    }

    @Test func labelReplace() throws {
        let l = try Labels(["__name__": "up", "b": "x", "src": "abc-def"])
        let groups = try LabelReplace(destination: "dst", replacement: "$2:${1}x", source: "src", regex: "(.*)-(.*)")
        #expect(groups.apply(l).description == #"{__name__="up", b="x", dst="def:abcx", src="abc-def"}"#)
        // `$1x` is the group named "1x", which does not exist: empty, so no label.
        let missing = try LabelReplace(destination: "dst", replacement: "$1x", source: "src", regex: "(.*)")
        #expect(missing.apply(l) == l)
        let named = try LabelReplace(destination: "a", replacement: "<$word>", source: "src", regex: "(?P<word>[a-c]+)-.*")
        #expect(named.apply(l).description == #"{__name__="up", a="<abc>", b="x", src="abc-def"}"#)
        // Anchored: "bc" alone does not match "abc-def", so nothing changes.
        #expect(try LabelReplace(destination: "b", replacement: "y", source: "src", regex: "bc").apply(l) == l)
        // An absent source is the empty string.
        let absent = try LabelReplace(destination: "b", replacement: "", source: "nope", regex: "")
        #expect(absent.apply(l).description == #"{__name__="up", src="abc-def"}"#)
        #expect(try LabelReplace(destination: "zz", replacement: "$$", source: "nope", regex: ".*").apply(l)["zz"] == "$")
        // Group names as Go 2.42 reads them (checked with promtool): a leading digit and a
        // repeated name are fine (the first group with the name counts), `(?<n>` is not, nor
        // an empty or non-ASCII name. `[\(]` in a class is not a group.
        let ab = try Labels(["src": "ab"])
        #expect(try LabelReplace(destination: "d", replacement: "[$1x]", source: "src", regex: "(?P<1x>.*)").apply(ab)["d"] == "[ab]")
        #expect(try LabelReplace(destination: "d", replacement: "[$n]", source: "src", regex: "(?P<n>a)(?P<n>b)").apply(ab)["d"] == "[a]")
        #expect(try LabelReplace(destination: "d", replacement: "[$2$x]", source: "src", regex: #"([\(])?(?P<x>a)(b)"#).apply(ab)["d"] == "[aa]")
        for bad in ["(?<n>.*)", "(?P<>a)b", "(?P<é>a)b", "(?P<n"] {
            #expect(throws: PromQLError(.execution, "invalid regular expression in label_replace(): \(bad)")) {
                try LabelReplace(destination: "d", replacement: "", source: "src", regex: bad)
            }
        }
        // Removing the only label leaves an empty set, without trapping.
        let only = try Labels(["a": "1"])
        #expect(try LabelReplace(destination: "a", replacement: "", source: "a", regex: ".*").apply(only).isEmpty)
    }

    @Test func labelJoin() throws {
        let l = try Labels(["__name__": "up", "b": "x", "src": "abc"])
        #expect(try LabelJoin(destination: "a", separator: "-", sources: ["src", "none", "b"]).apply(l)["a"] == "abc--x")
        #expect(try LabelJoin(destination: "b", separator: "", sources: []).apply(l)["b"] == nil)
    }

    @Test func dates() throws {
        func d(_ name: String, _ t: Double) throws -> Double {
            let f = try #require(InstantFunctions.date(name))
            return f(t)
        }
        // 2000-02-29 (a Tuesday, leap year divisible by 400).
        #expect(try d("year", 951_782_400) == 2000)
        #expect(try d("month", 951_782_400) == 2)
        #expect(try d("day_of_month", 951_782_400) == 29)
        #expect(try d("days_in_month", 951_782_400) == 29)
        #expect(try d("day_of_year", 951_782_400) == 60)
        #expect(try d("day_of_week", 951_782_400) == 2)
        // 1900 is not a leap year: February has 28 days, 1 March is day 60, a Thursday.
        #expect(try d("days_in_month", -2_205_100_800) == 28)
        #expect(try d("day_of_year", -2_203_891_200) == 60)
        #expect(try d("day_of_week", -2_203_891_200) == 4)
        // 2024-12-31 is day 366; 1600-02-10 (negative, before 1970) is a Thursday.
        #expect(try d("day_of_year", 1_735_603_200) == 366)
        #expect(try d("day_of_week", -11_672_640_000) == 4)
        // One second before the epoch: 1969-12-31 23:59:59, a Wednesday. -0.5 truncates to 0.
        #expect(try d("hour", -1) == 23)
        #expect(try d("minute", -1) == 59)
        #expect(try d("day_of_week", -1) == 3)
        #expect(try d("year", -0.5) == 1970)
        // NaN, ±Inf and out-of-range values become int64's minimum, as on amd64 (no trap).
        for v in [Double.nan, .infinity, -.infinity, 1e300, -1e300] {
            #expect(try d("year", v) == 292_277_026_596)
        }
    }

    /// The plain-arithmetic Exp (CPUs without FMA) cannot be checked against promtool on this
    /// machine; it must at least be within an ulp or two of the fused one.
    @Test func expWithoutFMA() {
        #expect(GoMath.useFMA == GoMath.useFMA)
        for x in stride(from: -745.0, through: 709.0, by: 0.37) {
            let a = GoMath.exp(x, fused: true), b = GoMath.exp(x, fused: false)
            #expect(Swift.abs(a - b) <= 2 * a.ulp, "exp(\(x)): \(a) vs \(b)")
        }
        #expect(GoMath.exp(.nan, fused: false).isNaN)
        #expect(GoMath.exp(-.infinity, fused: false) == 0)
        #expect(GoMath.exp(710, fused: false) == .infinity)
        #expect(GoMath.exp(0, fused: false) == 1)
    }

    @Test func round() {
        let r = InstantFunctions.round
        #expect(r(2.5, 1) == 3)
        #expect(r(-2.5, 1) == -2)
        #expect(r(7.25, 0.5) == 7.5)
        #expect(r(14, 10) == 10)
        #expect(r(15, 10) == 20)
        #expect(r(5, 0).isNaN)
        #expect(r(.nan, 1).isNaN)
    }

    @Test func extremeInputsDoNotTrap() {
        let far = [Sample(timestamp: .min, value: 1), Sample(timestamp: .max, value: .nan)][...]
        for name in ["rate", "increase", "delta", "irate", "idelta", "deriv", "predict_linear", "holt_winters",
                     "changes", "resets", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
                     "count_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time",
                     "last_over_time", "present_over_time"] {
            guard let f = RangeFunction(name: name) else { continue }
            _ = f.evaluate(far, rangeStart: .min, rangeEnd: .max, evalTime: .max, params: [0.5, 0.5])
            _ = f.evaluate(far, rangeStart: .max, rangeEnd: .min, evalTime: .min, params: [])
            _ = f.evaluate([][...], rangeStart: 0, rangeEnd: 0, evalTime: 0, params: [])
        }
        for name in ["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"] {
            for v in [Double.nan, .infinity, -.infinity, 9.3e18, -9.3e18, .greatestFiniteMagnitude, 0] {
                _ = InstantFunctions.date(name)?(v)
            }
        }
        for name in ["abs", "ceil", "exp", "floor", "ln", "log2", "log10", "sqrt", "sgn", "acos", "acosh", "asin",
                     "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad"] {
            for v in [Double.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                      .leastNonzeroMagnitude, 0, -0.0] {
                _ = InstantFunctions.simple(name)?(v)
            }
        }
        _ = HistogramQuantile.quantile(0.5, buckets: [(.nan, .nan), (.infinity, .nan), (.nan, 1)])
        var values: [Double] = [.nan, .nan, .infinity]
        _ = Statistics.quantile(0.3, &values)
    }
}
