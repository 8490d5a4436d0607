/// Go's formatting of strings and floats, as Prometheus's messages and printer use them.

private func isGoPrintable(_ s: Unicode.Scalar) -> Bool {
    if s == " " { return true }
    switch s.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned,
         .spaceSeparator, .lineSeparator, .paragraphSeparator: return false
    default: return true
    }
}

private func hex(_ v: UInt32, width: Int, upper: Bool = false) -> String {
    let s = String(v, radix: 16, uppercase: upper)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}

private func escape(_ s: Unicode.Scalar, quote: Unicode.Scalar) -> String {
    switch s {
    case quote: return "\\" + String(Character(s))
    case "\\": return "\\\\"
    case "\u{07}": return "\\a"
    case "\u{08}": return "\\b"
    case "\u{0C}": return "\\f"
    case "\n": return "\\n"
    case "\r": return "\\r"
    case "\t": return "\\t"
    case "\u{0B}": return "\\v"
    default:
        if isGoPrintable(s) { return String(Character(s)) }
        if s.value < 0x80 { return "\\x" + hex(s.value, width: 2) }
        return s.value > 0xFFFF ? "\\U" + hex(s.value, width: 8) : "\\u" + hex(s.value, width: 4)
    }
}

/// Go's `strconv.Quote` (`%q` of a string).
func goQuote(_ s: String) -> String {
    "\"" + s.unicodeScalars.map { escape($0, quote: "\"") }.joined() + "\""
}

/// Go's `%q` of a rune; a negative or invalid rune prints as U+FFFD.
func goQuoteRune(_ r: Int32) -> String {
    let s = r >= 0 ? Unicode.Scalar(UInt32(r)) ?? "\u{FFFD}" : "\u{FFFD}"
    return "'" + escape(s, quote: "'") + "'"
}

/// Go's `%#U`: `U+0067 'g'`.
func goUnicodeU(_ r: Int32) -> String {
    let v = r >= 0 ? UInt32(r) : 0xFFFD
    let head = "U+" + hex(v, width: 4, upper: true)
    if let s = Unicode.Scalar(v), isGoPrintable(s) { return head + " '" + String(Character(s)) + "'" }
    return head
}


/// Go's `%f` for the values the @ bound check rejects: NaN, ±Inf, or integers of magnitude
/// at least 2⁶³, printed exactly.
func goFormatFixed(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
    guard Swift.abs(v) >= 1e15 else {
        // Small enough for exact arithmetic on the scaled value.
        let scaled = (Swift.abs(v) * 1_000_000).rounded()
        let n = UInt64(scaled)
        let frac = String(n % 1_000_000)
        return (v < 0 ? "-" : "") + String(n / 1_000_000) + "." + String(repeating: "0", count: 6 - frac.count) + frac
    }
    // An integer: significand × 2^exponent in decimal, with base-10⁹ limbs.
    var limbs: [UInt64] = [Swift.abs(v).significandBitPattern | (1 << 52)]
    var shift = Int(Swift.abs(v).exponent) - 52
    limbs = [limbs[0] % 1_000_000_000, limbs[0] / 1_000_000_000 % 1_000_000_000, limbs[0] / 1_000_000_000_000_000_000]
    while shift > 0 {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let x = limbs[i] * 2 + carry
            limbs[i] = x % 1_000_000_000
            carry = x / 1_000_000_000
        }
        if carry > 0 { limbs.append(carry) }
        shift -= 1
    }
    while shift < 0 {  // not reached for |v| ≥ 2^53, kept for safety
        var rem: UInt64 = 0
        for i in limbs.indices.reversed() {
            let x = rem * 1_000_000_000 + limbs[i]
            limbs[i] = x / 2
            rem = x % 2
        }
        shift += 1
    }
    while limbs.count > 1 && limbs.last == 0 { limbs.removeLast() }
    var out = String(limbs.last!)
    for limb in limbs.dropLast().reversed() {
        let s = String(limb)
        out += String(repeating: "0", count: 9 - s.count) + s
    }
    return (v < 0 ? "-" : "") + out + ".000000"
}
