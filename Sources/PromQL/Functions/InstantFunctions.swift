#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The instant-vector math functions of Prometheus 2.42, value by value.
enum InstantFunctions {
    /// abs, ceil, exp, floor, ln, log2, log10, sqrt, sgn, the trigonometric ones, deg, rad.
    static func simple(_ name: String) -> (@Sendable (Double) -> Double)? {
        switch name {
        case "abs": return { Swift.abs($0) }
        case "ceil": return { $0.rounded(.up) }
        case "floor": return { $0.rounded(.down) }
        case "exp": return { exp($0) }
        case "sqrt": return { $0.squareRoot() }
        case "ln": return { log($0) }
        case "log2": return { goLog2($0) }
        case "log10": return { goLog10($0) }
        case "sin": return { sin($0) }
        case "cos": return { cos($0) }
        case "tan": return { tan($0) }
        case "asin": return { asin($0) }
        case "acos": return { acos($0) }
        case "atan": return { atan($0) }
        case "sinh": return { sinh($0) }
        case "cosh": return { cosh($0) }
        case "tanh": return { tanh($0) }
        case "asinh": return { asinh($0) }
        case "acosh": return { acosh($0) }
        case "atanh": return { atanh($0) }
        // Left to right as in Go: (v * 180) / π and (v * π) / 180.
        case "deg": return { $0 * 180 / Double.pi }
        case "rad": return { $0 * Double.pi / 180 }
        // -1, +1, or the value itself for ±0 and NaN.
        case "sgn": return { $0 < 0 ? -1 : ($0 > 0 ? 1 : $0) }
        default: return nil
        }
    }

    /// Prometheus's `round(v, to_nearest)`: `floor(v * (1/to_nearest) + 0.5) / (1/to_nearest)`,
    /// so ties go up.
    static func round(_ v: Double, toNearest: Double) -> Double {
        // Inverting first causes fewer floating point accuracy issues (Prometheus's comment).
        let inverse = 1.0 / toNearest
        return (v * inverse + 0.5).rounded(.down) / inverse
    }

    /// Go's `math.Log2`: exact for powers of two, else `Log(frac)/Ln2 + exp` from `Frexp`.
    static func goLog2(_ x: Double) -> Double {
        let (frac, exp) = goFrexp(x)
        if frac == 0.5 { return Double(exp - 1) }
        return log(frac) * (1 / 0.693147180559945309417232121458176568) + Double(exp)
    }

    /// Go's `math.Log10`: `Log2(x) * (Ln2 / Ln10)`.
    static func goLog10(_ x: Double) -> Double {
        goLog2(x) * (0.693147180559945309417232121458176568 / 2.30258509299404568401799145468436421)
    }

    /// Go's `math.Frexp`: `x = frac × 2^exp` with `|frac|` in [0.5, 1); ±0, ±Inf and NaN
    /// come back unchanged with exponent 0.
    static func goFrexp(_ x: Double) -> (Double, Int) {
        guard x != 0, x.isFinite else { return (x, 0) }
        // Swift's exponent is for a significand in [1, 2).
        let e = Int(x.exponent) + 1
        let frac = Double(sign: x.sign, exponent: -1, significand: x.significand)
        return (frac, e)
    }
}
