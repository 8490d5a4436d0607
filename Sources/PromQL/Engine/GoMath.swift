#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Go's `math.Pow`; C's `pow` has the same special cases for every input PromQL can give.
@inline(__always) func goPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }

/// Go's `math.Atan2`, same special cases as C's.
@inline(__always) func atan2Go(_ y: Double, _ x: Double) -> Double { atan2(y, x) }

/// Go's `strconv.ParseFloat(s, 64)` for the forms label values hold (`0.5`, `1e3`, `+Inf`, `NaN`).
func parseGoFloat(_ s: String) -> Double? {
    guard let first = s.utf8.first, first != 0x20, first != 0x09, s.utf8.last != 0x20 else { return nil }
    if let v = Double(s) { return v }
    switch s.lowercased() {
    case "inf", "+inf", "infinity", "+infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    case "nan": return .nan
    default: return nil
    }
}
