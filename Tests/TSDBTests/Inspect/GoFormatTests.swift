import Foundation
import Testing
@_spi(Inspect) import TSDB
import TSDBTestSupport

/// Go's number, duration and table formatting, checked against outputs of Go 1.19's `fmt`,
/// `time` and `text/tabwriter` (and `promtool`, for random values, in the dump tests).
@Suite struct GoFormatTests {
    @Test(arguments: [
        (1e6, "1e+06"), (1.5e-7, "1.5e-07"), (100000, "100000"), (0.1, "0.1"), (-0.0, "-0"), (0, "0"),
        (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (123456789, "1.23456789e+08"),
        (123456, "123456"), (1234567, "1.234567e+06"), (0.0001, "0.0001"), (0.00001, "1e-05"),
        (1e21, "1e+21"), (1e300, "1e+300"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (3.141592653589793, "3.141592653589793"), (-2.5e-5, "-2.5e-05"), (999999, "999999"), (-1, "-1"),
        (1.062255859375, "1.062255859375"), (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (9007199254740993, "9.007199254740992e+15"), (123456.5, "123456.5"), (0.000123, "0.000123"),
        (100, "100"), (1e100, "1e+100"), (12345678901234567890, "1.2345678901234567e+19"),
    ] as [(Double, String)])
    func floatsAsGoPrintsThem(_ value: Double, _ expected: String) {
        #expect(GoFormat.float(value) == expected)
    }

    @Test func floatsReadBack() {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<20_000 {
            let v = InterestingValues.random(using: &rng)
            let s = GoFormat.float(v)
            if v.isNaN { #expect(s == "NaN"); continue }
            let back = Double(s.replacingOccurrences(of: "+Inf", with: "inf"))
            #expect(back?.bitPattern == v.bitPattern, "seed \(rng.seed): \(v) printed as \(s)")
        }
    }

    @Test(arguments: [
        (Int64(7_200_000), "2h0m0s"), (6_391_990, "1h46m31.99s"), (1, "1ms"), (0, "0s"), (90_500, "1m30.5s"),
        (-1_500, "-1.5s"), (59_999, "59.999s"), (3_600_001, "1h0m0.001s"),
    ])
    func durationsAsGoPrintsThem(_ ms: Int64, _ expected: String) {
        #expect(GoFormat.duration(milliseconds: ms) == expected)
    }

    @Test func subSecondDurations() {
        #expect(GoFormat.duration(nanoseconds: 1_500) == "1.5µs")
        #expect(GoFormat.duration(nanoseconds: 999) == "999ns")
        #expect(GoFormat.duration(nanoseconds: 2_000_000) == "2ms")
    }

    @Test func sizesAndTimes() {
        #expect(GoFormat.base2Bytes(6_632_418) == "6MiB332KiB994B")
        #expect(GoFormat.base2Bytes(0) == "0B")
        #expect(GoFormat.base2Bytes(2048) == "2KiB")
        #expect(GoFormat.utcTime(milliseconds: 1_700_000_000_123) == "2023-11-14 22:13:20 +0000 UTC")
        #expect(GoFormat.utcTime(milliseconds: 0) == "1970-01-01 00:00:00 +0000 UTC")
    }

    @Test func tableAsTabwriterPads() {
        let t = GoFormat.table([["A", "BB", "last"], ["longer cell here", "x", "y"]])
        #expect(t == "A                 BB           last\nlonger cell here  x            y\n")
    }

    @Test func openMetricsTimestampsReadBackExactly() {
        var rng = SeededRandom.fromEnvironment()
        for i in 0..<100_000 {
            let ms: Int64 = i < 50_000 ? 1_700_000_000_000 + Int64(i) : Int64.random(in: -4_000_000_000_000...4_000_000_000_000, using: &rng)
            var out: [UInt8] = []
            OpenMetricsText.appendTimestamp(milliseconds: ms, to: &out)
            let seconds = Double(String(decoding: out, as: UTF8.self))!
            #expect(Int64(seconds * 1000) == ms, "seed \(rng.seed): \(ms) written as \(String(decoding: out, as: UTF8.self))")
        }
    }
}
