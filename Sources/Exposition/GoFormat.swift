/// Go's formatting of numbers as `promtool` and Prometheus's exposition print them, so that
/// `tsdb-inspect` output can be compared with `promtool`'s byte for byte. TSDBTools adds
/// durations, sizes and tables (`GoFormat+Promtool.swift`).
///
/// Pure functions; safe from any thread.
package enum GoFormat {
    /// `fmt.Sprintf("%g", v)`: the shortest decimal that reads back as `v`, in `%e` form
    /// when the exponent is below −4 or at least 6 (`1e+06`, `1.5e-07`), else in `%f` form
    /// (`100000`, `0.1`); `NaN`, `+Inf`, `-Inf`, `-0`.
    package static func float(_ v: Double) -> String {
        var out: [UInt8] = []
        appendFloat(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``float(_:)``'s bytes to `out`. Integers below 2⁵³ take a fast path without
    /// allocating; other values go through Swift's shortest round-trip digits.
    package static func appendFloat(_ v: Double, to out: inout [UInt8]) {
        guard let (digits, dp) = signAndDigits(v, to: &out) else { return }
        appendDigits(digits, dp: dp, to: &out)
    }

    /// What ``appendFloat(_:to:)`` and ``appendFixed(_:to:)`` share: `NaN`, `±Inf` and zero
    /// written whole (nil returned), else the sign written and the shortest digits of |v|
    /// returned. Integers below 2⁵³ skip the round trip through Swift's description.
    private static func signAndDigits(_ v: Double, to out: inout [UInt8]) -> (digits: [UInt8], dp: Int)? {
        if v.isNaN { out.append(contentsOf: [0x4E, 0x61, 0x4E]); return nil }
        if v.isInfinite { out.append(contentsOf: v < 0 ? Array("-Inf".utf8) : Array("+Inf".utf8)); return nil }
        if v.sign == .minus { out.append(UInt8(ascii: "-")) }
        let a = Swift.abs(v)
        if a == 0 { out.append(UInt8(ascii: "0")); return nil }
        if a < 9_007_199_254_740_992, a.rounded(.towardZero) == a {
            var n = UInt64(a)
            var digits: [UInt8] = []
            digits.reserveCapacity(17)
            while n > 0 { digits.append(UInt8(truncatingIfNeeded: n % 10) &+ 0x30); n /= 10 }
            digits.reverse()
            let dp = digits.count
            while digits.count > 1, digits.last == 0x30 { digits.removeLast() }
            return (digits, dp)
        }
        return shortestDigits(a)
    }

    /// The shortest round-trip decimal digits of a positive finite `a` (no leading or trailing
    /// zeros) and the position of the decimal point: `a = 0.d₁d₂… × 10^dp`.
    static func shortestDigits(_ a: Double) -> (digits: [UInt8], dp: Int) {
        // Swift's description is the shortest round-trip form, e.g. "0.1", "1e-05", "1.5e+300".
        let text = Array(a.description.utf8)
        var mantissa = text[...]
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            mantissa = text[..<e]
            var sign = 1
            var i = e + 1
            if i < text.count, text[i] == UInt8(ascii: "-") { sign = -1; i += 1 } else if i < text.count, text[i] == UInt8(ascii: "+") { i += 1 }
            var x = 0
            while i < text.count { x = x * 10 + Int(text[i] &- 0x30); i += 1 }
            exponent = sign * x
        }
        var digits: [UInt8] = []
        var intCount = 0
        var seenPoint = false
        for c in mantissa {
            if c == UInt8(ascii: ".") { seenPoint = true; continue }
            digits.append(c)
            if !seenPoint { intCount += 1 }
        }
        var dp = intCount + exponent
        var lead = 0
        while lead < digits.count - 1, digits[lead] == 0x30 { lead += 1; dp -= 1 }
        digits.removeFirst(lead)
        while digits.count > 1, digits.last == 0x30 { digits.removeLast() }
        return (digits, dp)
    }

    /// `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that reads back as `v`,
    /// never in exponent form (`1e21` is `1000000000000000000000`, `1e-7` is `0.0000001`);
    /// `NaN`, `+Inf`, `-Inf`, `-0`. What Prometheus's API and `count_values` print.
    package static func fixed(_ v: Double) -> String {
        var out: [UInt8] = []
        appendFixed(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``fixed(_:)``'s bytes to `out`.
    package static func appendFixed(_ v: Double, to out: inout [UInt8]) {
        guard let (d, dp) = signAndDigits(v, to: &out) else { return }
        appendPlain(d, dp: dp, to: &out)
    }

    /// Lays out digits as Go's `%g` with the shortest precision (exponent threshold 6).
    private static func appendDigits(_ d: [UInt8], dp: Int, to out: inout [UInt8]) {
        let exp = dp - 1
        if exp < -4 || exp >= 6 {
            out.append(d[0])
            if d.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: d[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(exp < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let e = Swift.abs(exp)
            if e < 10 { out.append(0x30) }
            out.append(contentsOf: Array(String(e).utf8))
            return
        }
        appendPlain(d, dp: dp, to: &out)
    }

    /// Digits with the decimal point at `dp`, no exponent: `0.000d…`, `d…000`, `dd.dd`.
    private static func appendPlain(_ d: [UInt8], dp: Int, to out: inout [UInt8]) {
        if dp <= 0 {
            out.append(0x30)
            out.append(UInt8(ascii: "."))
            for _ in 0..<(-dp) { out.append(0x30) }
            out.append(contentsOf: d)
            return
        }
        for i in 0..<dp { out.append(i < d.count ? d[i] : 0x30) }
        if d.count > dp {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: d[dp...])
        }
    }
}
