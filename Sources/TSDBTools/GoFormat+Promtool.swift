#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import Exposition

/// `promtool`'s columns, as Go prints them: durations, times, sizes and tables.
///
/// Pure functions; safe from any thread.
extension GoFormat {
    /// Go's `time.Duration(ns).String()`: `2h0m0s`, `1m30.5s`, `1.5ms`, `0s`.
    package static func duration(nanoseconds d: Int64) -> String {
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
    package static func duration(milliseconds ms: Int64) -> String {
        duration(nanoseconds: ms &* 1_000_000)
    }

    /// Go's `time.Unix(ms/1000, 0).UTC().String()`: `2023-11-14 22:13:20 +0000 UTC`.
    package static func utcTime(milliseconds ms: Int64) -> String {
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
    package static func base2Bytes(_ n: Int64) -> String {
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
    package static func table(_ rows: [[String]], minWidth: Int = 13, padding: Int = 2) -> String {
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
