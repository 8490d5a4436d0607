/// Durations as Prometheus's `model.Duration` reads and writes them: `1y2w3d4h5m6s7ms`,
/// units in that order, each at most once; a year is 365 days, a week 7 days.
public enum PromQLDuration {
    /// Milliseconds per unit, in the order the units must appear.
    static let units: [(String, Int64)] = [
        ("y", 365 * 24 * 3_600_000), ("w", 7 * 24 * 3_600_000), ("d", 24 * 3_600_000),
        ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]
    /// The largest duration Go's `time.Duration` (nanoseconds in an Int64) holds, in ms.
    static let maximumMilliseconds: Int64 = Int64.max / 1_000_000

    /// Parses a duration to milliseconds. `"0"` is zero.
    /// - Throws: the message `model.ParseDuration` gives: "empty duration string",
    ///   "not a valid duration string: \"x\"", "duration out of range".
    public static func parse(_ text: String) throws(PromQLParseError) -> Int64 {
        if text == "0" { return 0 }
        if text.isEmpty { throw PromQLParseError(message: "empty duration string") }
        let bytes = Array(text.utf8)
        var i = 0, nextUnit = 0, total: Int64 = 0, overflow = false
        let invalid = PromQLParseError(message: "not a valid duration string: \(goQuote(text))")
        while i < bytes.count {
            let start = i
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
            guard i > start else { throw invalid }
            let digits = bytes[start..<i]
            var unit = ""
            if i + 1 < bytes.count, bytes[i] == 109, bytes[i + 1] == 115 { unit = "ms"; i += 2 }
            else if i < bytes.count { unit = String(UnicodeScalar(bytes[i])); i += 1 }
            guard let index = units[nextUnit...].firstIndex(where: { $0.0 == unit }) else { throw invalid }
            nextUnit = index + 1
            let multiplier = units[index].1
            var n: Int64 = 0
            for d in digits {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(d - 48))
                if o1 || o2 { overflow = true; n = Int64.max; break }
                n = a
            }
            if n > maximumMilliseconds / multiplier { overflow = true; continue }
            total += n * multiplier
            if total > maximumMilliseconds { overflow = true; total = 0 }
        }
        if overflow { throw PromQLParseError(message: "duration out of range") }
        return total
    }

    /// Prometheus's canonical form: years and weeks only when exact, then d h m s ms; zero is `0s`.
    public static func format(milliseconds: Int64) -> String {
        var ms = milliseconds
        if ms == 0 { return "0s" }
        var out = ms < 0 ? "-" : ""
        if ms < 0 { ms = ms == Int64.min ? Int64.max : -ms }
        for (index, (unit, multiplier)) in units.enumerated() {
            if index < 2 && ms % multiplier != 0 { continue }
            let v = ms / multiplier
            if v > 0 { out += "\(v)\(unit)"; ms -= v * multiplier }
        }
        return out
    }
}
