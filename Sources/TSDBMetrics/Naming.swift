import TSDB

/// Metric and label names as swift-prometheus 2.4 turns swift-metrics labels and dimensions
/// into Prometheus names, so that a program recording itself here gets the same series
/// names it would expose through `PrometheusMetricsFactory`.
///
/// swift-prometheus first checks a name byte by byte (its check accepts only the digits `0`
/// and `9` after the first character, so any other digit sends the name to the fix-up), then,
/// for a name that fails, replaces every `Character` that is not `A`...`Z`, `a`...`z`, `_`
/// (or `:` in metric names), or a digit after the first character, by one `_`.
///
/// Two quirks of its fix-up are kept, because they decide the names users see:
/// - the comparisons are on `Character`s, so a letter with a combining mark that has no
///   precomposed form (`b\u{327}`) sorts between `a` and `z` and is kept (such a name is then
///   not a valid Prometheus name; ``SeriesNamer`` drops it);
/// - after it replaces a multi-byte `Character` other than the first, it goes on from a
///   stale `String.Index` that still spans the old character's bytes, which swallows the
///   rest of the name: `büro_total` becomes `b_`. (With 4-byte characters, such as emoji,
///   swift-prometheus traps on that index; here the name is cut the same way.)
///
/// Pure functions.
enum PrometheusNaming {
    /// The metric name swift-prometheus would expose for a swift-metrics label.
    static func metricName(_ label: String) -> String {
        isValid(label, allowColon: true) ? label : fixed(label, allowColon: true)
    }

    /// Whether Prometheus accepts `name` as a metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    static func isValidStoredMetricName(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            let letter = (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b == 0x5f || b == 0x3a
            if !(letter || (!first && b >= 0x30 && b <= 0x39)) { return false }
            first = false
        }
        return !first
    }

    /// The label name swift-prometheus would expose for a dimension name.
    static func labelName(_ name: String) -> String {
        isValid(name, allowColon: false) ? name : fixed(name, allowColon: false)
    }

    /// swift-prometheus's `isValidMetricName` / `isValidLabelName`, bug for bug: after the
    /// first byte only `0` and `9` pass among the digits. The empty string passes.
    static func isValid(_ name: String, allowColon: Bool) -> Bool {
        var first = true
        for byte in name.utf8 {
            defer { first = false }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"):
                continue
            case UInt8(ascii: ":") where allowColon:
                continue
            case UInt8(ascii: "0"), UInt8(ascii: "9"):
                if first { return false }
            default:
                return false
            }
        }
        return true
    }

    /// swift-prometheus's `fixPrometheusName`: each offending `Character` becomes `_`.
    /// Only the very first character may not be a digit.
    static func fixed(_ name: String, allowColon: Bool) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        var first = true
        for character in name {
            defer { first = false }
            let keep: Bool
            switch character {
            case "A"..."Z", "a"..."z", "_": keep = true
            case ":": keep = allowColon
            case "0"..."9": keep = !first
            default: keep = false
            }
            if keep {
                out.append(character)
            } else {
                out.append("_")
                // swift-prometheus's stale index: the rest of the name is lost (see above).
                if !first && character.utf8.count > 1 { return out }
            }
        }
        return out
    }
}

/// Builds the label sets of one metric's series, as a Prometheus scrape with
/// `honor_labels: false` stores them: the target's (constant) labels win, and a scraped label
/// whose name they already use is renamed `exported_<name>` (repeatedly, until it is free).
/// Dimension names are sanitised as swift-prometheus does; a second dimension with the same
/// name after sanitising is dropped (swift-prometheus traps on it); names that are still not
/// valid label names, and empty values (as Prometheus drops them), are dropped.
struct SeriesNamer: Sendable {
    /// Sanitised constant labels, by name.
    let constantLabels: [(String, String)]

    init(constantLabels: [(String, String)]) {
        var seen = Set<String>()
        var kept: [(String, String)] = []
        for (name, value) in constantLabels {
            let name = PrometheusNaming.labelName(name)
            guard Labels.isValidName(name), !value.isEmpty, name != "__name__", seen.insert(name).inserted else { continue }
            kept.append((name, value))
        }
        self.constantLabels = kept
    }

    /// The label pairs (without `__name__`) every series of a metric with these dimensions
    /// carries. `reserved` are names the metric itself adds, such as `le` for histograms.
    func labelPairs(_ dimensions: [(String, String)], reserved: Set<String> = []) -> [(String, String)] {
        var taken = Set(constantLabels.map(\.0))
        taken.insert("__name__")
        taken.formUnion(reserved)
        var fromDimensions = Set<String>()
        var pairs = constantLabels
        for (rawName, value) in dimensions {
            let name = PrometheusNaming.labelName(rawName)
            // Still invalid after the fix-up (a kept combining mark): Prometheus could not store it.
            guard Labels.isValidName(name), !value.isEmpty, fromDimensions.insert(name).inserted else { continue }
            var stored = name
            while taken.contains(stored) { stored = "exported_" + stored }
            taken.insert(stored)
            pairs.append((stored, value))
        }
        return pairs
    }

    /// One series: `__name__` plus `pairs` plus `extra` (e.g. `le`).
    func labels(name: String, _ pairs: [(String, String)], extra: (String, String)? = nil) throws(TSDBError) -> Labels {
        var all = pairs
        all.append(("__name__", name))
        if let extra { all.append(extra) }
        return try Labels(all)
    }
}
