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

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that round-trip, never
/// an exponent (`1e+21` is `1000000000000000000000`), `NaN`, `+Inf`, `-Inf`.
func goFormatFloatShortest(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v == .infinity { return "+Inf" }
    if v == -.infinity { return "-Inf" }
    // Swift's description is also the shortest round-trip form; only its layout differs.
    var text = v.description
    var negative = false
    if text.hasPrefix("-") { negative = true; text.removeFirst() }
    var mantissa = text
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = String(text[..<e])
        exponent = Int(text[text.index(after: e)...]) ?? 0
    }
    var intPart = mantissa
    var fracPart = ""
    if let dot = mantissa.firstIndex(of: ".") {
        intPart = String(mantissa[..<dot])
        fracPart = String(mantissa[mantissa.index(after: dot)...])
    }
    var digits = intPart + fracPart
    var point = intPart.count + exponent
    // Strip leading zeros (keeping the point where it is) and trailing ones.
    while digits.count > 1 && digits.first == "0" { digits.removeFirst(); point -= 1 }
    while digits.count > 1 && digits.last == "0" { digits.removeLast() }
    if digits == "0" { return negative ? "-0" : "0" }
    var out: String
    if point <= 0 {
        out = "0." + String(repeating: "0", count: -point) + digits
    } else if point >= digits.count {
        out = digits + String(repeating: "0", count: point - digits.count)
    } else {
        let i = digits.index(digits.startIndex, offsetBy: point)
        out = String(digits[..<i]) + "." + String(digits[i...])
    }
    return negative ? "-" + out : out
}
