import Foundation
import Testing
import Exposition
import TSDBTestSupport

/// Go's number formatting, checked against outputs of Go 1.19's `fmt` (and `promtool`, for
/// random values, in the dump tests).
@Suite(.heavy) struct GoFormatTests {
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
}
