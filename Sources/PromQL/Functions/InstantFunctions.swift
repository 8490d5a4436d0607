/// The instant-vector math functions of Prometheus 2.42, value by value, with Go's algorithms
/// (GoMath) so that results agree with Prometheus on x86-64 bit for bit.
enum InstantFunctions {
    /// abs, ceil, exp, floor, ln, log2, log10, sqrt, sgn, the trigonometric ones, deg, rad.
    static func simple(_ name: String) -> (@Sendable (Double) -> Double)? {
        switch name {
        case "abs": return { Swift.abs($0) }
        case "ceil": return { $0.rounded(.up) }
        case "floor": return { $0.rounded(.down) }
        case "exp": return { GoMath.exp($0) }
        case "sqrt": return { $0.squareRoot() }
        case "ln": return { GoMath.log($0) }
        case "log2": return { goLog2($0) }
        case "log10": return { goLog10($0) }
        case "sin": return { GoMath.sin($0) }
        case "cos": return { GoMath.cos($0) }
        case "tan": return { GoMath.tan($0) }
        case "asin": return { GoMath.asin($0) }
        case "acos": return { GoMath.acos($0) }
        case "atan": return { GoMath.atan($0) }
        case "sinh": return { GoMath.sinh($0) }
        case "cosh": return { GoMath.cosh($0) }
        case "tanh": return { GoMath.tanh($0) }
        case "asinh": return { GoMath.asinh($0) }
        case "acosh": return { GoMath.acosh($0) }
        case "atanh": return { GoMath.atanh($0) }
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
        return GoMath.log(frac) * log2OfE + Double(exp)
    }

    /// Go's `math.Log10`: `Log(x) * (1 / Ln10)`.
    static func goLog10(_ x: Double) -> Double {
        GoMath.log(x) * log10OfE
    }

    /// Go's constants `1/Ln2` and `1/Ln10`, which Go evaluates exactly before rounding.
    static let log2OfE = 1.44269504088896340735992468100189213742664595415298593
    static let log10OfE = 0.434294481903251827651128918916605082294397005803666566114

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
