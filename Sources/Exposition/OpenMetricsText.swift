import TSDB

/// Writing OpenMetrics text, as `tsdb-inspect dump --format openmetrics` does, that
/// `promtool tsdb create-blocks-from openmetrics` and ``TextParser`` read back exactly: a
/// series as ``TSDB/Labels/openMetricsPrefix``, its values as ``GoFormat/appendFloat(_:to:)``,
/// its timestamps as ``appendTimestamp(milliseconds:to:)``, then `# EOF`.
package enum OpenMetricsText {
    /// Appends `ms` as seconds, `1700000000.123`. OpenMetrics readers compute
    /// `Int64(seconds * 1000)`, truncating, which turns some 3-decimal forms into the
    /// millisecond below; those get a fourth decimal `5` (half a millisecond away from the
    /// target, far more than the rounding error), so every timestamp reads back exactly.
    package static func appendTimestamp(milliseconds ms: Int64, to out: inout [UInt8]) {
        let seconds = ms / 1000
        let fraction = (ms % 1000).magnitude
        if ms < 0 && seconds == 0 { out.append(UInt8(ascii: "-")) }
        out.append(contentsOf: Array(String(seconds).utf8))
        out.append(UInt8(ascii: "."))
        out.append(UInt8(truncatingIfNeeded: fraction / 100) &+ 0x30)
        out.append(UInt8(truncatingIfNeeded: fraction / 10 % 10) &+ 0x30)
        out.append(UInt8(truncatingIfNeeded: fraction % 10) &+ 0x30)
        // Double(ms) / 1000 is the double nearest the decimal just written (both correctly rounded).
        if !readsBack(ms) { out.append(UInt8(ascii: "5")) }
    }

    /// Whether the 3-decimal form of `ms` reads back as `ms` under `Int64(Double(text) * 1000)`.
    static func readsBack(_ ms: Int64) -> Bool {
        guard ms.magnitude < 1 << 53 else { return true }
        let product = (Double(ms) / 1000) * 1000
        return product.rounded(.towardZero) == Double(ms)
    }
}

extension Labels {
    /// `name{a="x",b="y"}` as OpenMetrics writes a series (label values escaped `\\`, `\"`,
    /// `\n`); nil for a series without a metric name, which OpenMetrics cannot hold.
    package var openMetricsPrefix: String? {
        guard let name = metricName else { return nil }
        var s = name
        var first = true
        for label in self where label.name != "__name__" {
            s += first ? "{" : ","
            first = false
            s += label.name + "=\""
            for c in label.value.unicodeScalars {
                switch c {
                case "\\": s += "\\\\"
                case "\"": s += "\\\""
                case "\n": s += "\\n"
                default: s.unicodeScalars.append(c)
                }
            }
            s += "\""
        }
        if !first { s += "}" }
        return s
    }
}
