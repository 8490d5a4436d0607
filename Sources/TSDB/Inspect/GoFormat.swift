#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Go's formatting of numbers, durations, sizes and tables, as `promtool` prints them, so
/// that `tsdb-inspect` output can be compared with `promtool`'s byte for byte.
///
/// Pure functions; safe from any thread.
@_spi(Inspect) public enum GoFormat {
    /// `fmt.Sprintf("%g", v)`: the shortest decimal that reads back as `v`, in `%e` form
    /// when the exponent is below −4 or at least 6 (`1e+06`, `1.5e-07`), else in `%f` form
    /// (`100000`, `0.1`); `NaN`, `+Inf`, `-Inf`, `-0`.
    public static func float(_ v: Double) -> String {
        var out: [UInt8] = []
        appendFloat(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``float(_:)``'s bytes to `out`. Integers below 2⁵³ take a fast path without
    /// allocating; other values go through Swift's shortest round-trip digits.
    public static func appendFloat(_ v: Double, to out: inout [UInt8]) {
        if v.isNaN { out.append(contentsOf: [0x4E, 0x61, 0x4E]); return }
        if v.isInfinite { out.append(contentsOf: v < 0 ? Array("-Inf".utf8) : Array("+Inf".utf8)); return }
        if v.sign == .minus { out.append(UInt8(ascii: "-")) }
        let a = Swift.abs(v)
        if a == 0 { out.append(UInt8(ascii: "0")); return }
        if a < 9_007_199_254_740_992, a.rounded(.towardZero) == a {
            var n = UInt64(a)
            var digits: [UInt8] = []
            digits.reserveCapacity(17)
            while n > 0 { digits.append(UInt8(truncatingIfNeeded: n % 10) &+ 0x30); n /= 10 }
            digits.reverse()
            let dp = digits.count
            while digits.count > 1, digits.last == 0x30 { digits.removeLast() }
            appendDigits(digits, dp: dp, to: &out)
            return
        }
        let (digits, dp) = shortestDigits(a)
        appendDigits(digits, dp: dp, to: &out)
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

    /// Go's `time.Duration(ns).String()`: `2h0m0s`, `1m30.5s`, `1.5ms`, `0s`.
    public static func duration(nanoseconds d: Int64) -> String {
        if d == 0 { return "0s" }
        var u = d.magnitude
        var s = ""
        if u < 1_000_000_000 {
            let (unit, precision): (String, Int) = u < 1_000 ? ("ns", 0) : (u < 1_000_000 ? ("µs", 3) : ("ms", 6))
            s = fraction(&u, precision: precision) + unit
            s = String(u) + s
        } else {
            s = fraction(&u, precision: 9) + "s"
            s = String(u % 60) + s
            u /= 60
            if u > 0 {
                s = String(u % 60) + "m" + s
                u /= 60
                if u > 0 { s = String(u) + "h" + s }
            }
        }
        return d < 0 ? "-" + s : s
    }

    /// Go's `fmtFrac`: the fraction of `v / 10^precision` as ".123" without trailing zeros
    /// (nothing when it is zero); leaves the integer part in `v`.
    private static func fraction(_ v: inout UInt64, precision: Int) -> String {
        var digits: [Character] = []
        var printed = false
        for _ in 0..<precision {
            let digit = v % 10
            printed = printed || digit != 0
            if printed { digits.append(Character(String(digit))) }
            v /= 10
        }
        return printed ? "." + String(digits.reversed()) : ""
    }

    /// `promtool`'s duration column: `time.Duration(ms) * time.Millisecond`, which wraps on
    /// overflow as Go's multiplication does.
    public static func duration(milliseconds ms: Int64) -> String {
        duration(nanoseconds: ms &* 1_000_000)
    }

    /// Go's `time.Unix(ms/1000, 0).UTC().String()`: `2023-11-14 22:13:20 +0000 UTC`.
    public static func utcTime(milliseconds ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = Int(parts.tm_year) + 1900
        var y = String(year.magnitude)
        while y.count < 4 { y = "0" + y }
        return "\(year < 0 ? "-" : "")\(y)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000 UTC"
    }

    /// `units.Base2Bytes(n).String()` as promtool 2.42 prints sizes: `6MiB332KiB482B`.
    public static func base2Bytes(_ n: Int64) -> String {
        let units = ["", "K", "M", "G", "T", "P", "E"]
        var parts = [String](repeating: "", count: units.count)
        var n = n
        for (i, unit) in units.enumerated() {
            if n % 1024 != 0 || (i == 0 && n == 0) {
                parts[units.count - 1 - i] = "\(n % 1024)\(unit)\(i == 0 ? "B" : "iB")"
            }
            n /= 1024
            if n == 0 { break }
        }
        return parts.joined()
    }

    /// Go's `text/tabwriter` with `minwidth`, padding and `' '` as the pad character: each
    /// row's cells but the last are padded to their column's widest cell plus `padding`
    /// (at least `minWidth`); widths count Unicode scalars.
    public static func table(_ rows: [[String]], minWidth: Int = 13, padding: Int = 2) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: minWidth, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() where i < row.count - 1 {
                widths[i] = Swift.max(widths[i], cell.unicodeScalars.count + padding)
            }
        }
        var out = ""
        for row in rows {
            for (i, cell) in row.enumerated() {
                out += cell
                if i < row.count - 1 { out += String(repeating: " ", count: widths[i] - cell.unicodeScalars.count) }
            }
            out += "\n"
        }
        return out
    }
}
