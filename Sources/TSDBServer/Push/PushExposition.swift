import Exposition
import TSDB

/// How the Pushgateway's `/metrics` writes the groups (client_golang's gatherer and text
/// encoder): families merged across groups and sorted by name, the first group's HELP,
/// metrics sorted by label count and then by label values in name order, label names
/// sorted, a histogram's `le` and a summary's `quantile` last, a histogram's `+Inf` bucket
/// added when missing.
enum PushExposition {
    static let pushTimeName = "push_time_seconds"
    static let pushTimeHelp = "Last Unix time when changing this group in the Pushgateway succeeded."
    static let failureTimeName = "push_failure_time_seconds"
    static let failureTimeHelp = "Last Unix time when changing this group in the Pushgateway failed."

    /// Every family of one group, its two timestamp gauges included.
    static func families(of group: PushGroup) -> [PushedFamily] {
        var out = Array(group.families.values)
        let labels = PushText.groupedLabels([], group.grouping)
        out.append(PushedFamily(name: pushTimeName, help: pushTimeHelp, type: .gauge,
                                metrics: [PushedMetric(labels: labels, value: group.pushTime)]))
        out.append(PushedFamily(name: failureTimeName, help: failureTimeHelp, type: .gauge,
                                metrics: [PushedMetric(labels: labels, value: group.failureTime)]))
        return out
    }

    /// The groups' families merged by name (in `groups` order), sorted by name, their
    /// metrics sorted.
    static func merged(_ groups: [PushGroup]) -> [PushedFamily] {
        var byName: [String: PushedFamily] = [:]
        for g in groups {
            for f in families(of: g) {
                if var existing = byName[f.name] {
                    existing.metrics += f.metrics
                    byName[f.name] = existing
                } else {
                    byName[f.name] = f
                }
            }
        }
        return byName.values.sorted { $0.name < $1.name }.map { f in
            var f = f
            f.metrics.sort(by: metricLess)
            return f
        }
    }

    /// client_golang's `metricSorter`.
    static func metricLess(_ a: PushedMetric, _ b: PushedMetric) -> Bool {
        if a.labels.count != b.labels.count { return a.labels.count < b.labels.count }
        for (x, y) in zip(a.labels, b.labels) where x.value != y.value {
            return x.value < y.value
        }
        return false
    }

    /// Registry-wide checks client_golang's `Gather` makes and the Pushgateway answers 400
    /// for: one type per family name, and no series twice.
    static func check(_ families: [PushedFamily], groups: [PushGroup]) -> String? {
        var types: [String: PushMetricType] = [:]
        var seen: Set<[Label]> = []
        for g in groups {
            for f in Self.families(of: g) {
                if let t = types[f.name], t != f.type, let m = f.metrics.first {
                    return "collected metric \(goQuote(f.name)) \(protoText(m, f.type)) is not a \(t.rawValue.uppercased())"
                }
                types[f.name] = f.type
                for m in f.metrics {
                    let key = [Label(name: "__name__", value: f.name)] + m.labels
                    if !seen.insert(key).inserted {
                        return "collected metric \(goQuote(f.name)) \(protoText(m, f.type)) was collected before with the same name and label values"
                    }
                }
            }
        }
        _ = families
        return nil
    }

    /// A metric in Go's protobuf text form, as the Pushgateway's error messages print it.
    static func protoText(_ m: PushedMetric, _ type: PushMetricType) -> String {
        var s = "{ "
        for l in m.labels { s += "label:<name:\(goQuote(l.name)) value:\(goQuote(l.value)) > " }
        switch type {
        case .histogram, .summary:
            s += "\(type.rawValue):<sample_count:\(GoFormat.float(m.count)) sample_sum:\(GoFormat.float(m.sum)) > "
        default:
            s += "\(type.rawValue):<value:\(GoFormat.float(m.value)) > "
        }
        return s + "}"
    }

    /// The text format 0.0.4 of `families`.
    static func text(_ families: [PushedFamily]) -> String {
        var out = ""
        for f in families {
            if let help = f.help { out += "# HELP \(f.name) \(escapeHelp(help))\n" }
            out += "# TYPE \(f.name) \(f.type.rawValue)\n"
            for m in f.metrics {
                forEachSample(f, m) { name, labels, extra, value in
                    out += name
                    out += labelText(labels, extra)
                    out += " " + GoFormat.float(value) + "\n"
                }
            }
        }
        return out
    }

    /// Every sample line of a metric: name, labels, the `le`/`quantile` label, value.
    static func forEachSample(_ f: PushedFamily, _ m: PushedMetric, _ body: (String, [Label], Label?, Double) -> Void) {
        switch f.type {
        case .summary:
            for (q, v) in m.quantiles { body(f.name, m.labels, Label(name: "quantile", value: GoFormat.float(q)), v) }
            body(f.name + "_sum", m.labels, nil, m.sum)
            body(f.name + "_count", m.labels, nil, m.count)
        case .histogram:
            var infSeen = false
            for (le, c) in m.buckets {
                if le == .infinity { infSeen = true }
                body(f.name + "_bucket", m.labels, Label(name: "le", value: GoFormat.float(le)), c)
            }
            if !infSeen { body(f.name + "_bucket", m.labels, Label(name: "le", value: "+Inf"), m.count) }
            body(f.name + "_sum", m.labels, nil, m.sum)
            body(f.name + "_count", m.labels, nil, m.count)
        default:
            body(f.name, m.labels, nil, m.value)
        }
    }

    /// The series Prometheus stores from a group when it scrapes it (`honor_labels: true`):
    /// empty-valued labels dropped.
    static func series(of group: PushGroup) -> [(Labels, Double)] {
        var out: [(Labels, Double)] = []
        for f in families(of: group) {
            for m in f.metrics {
                forEachSample(f, m) { name, labels, extra, value in
                    var pairs = [("__name__", name)] + labels.map { ($0.name, $0.value) }
                    if let extra { pairs.append((extra.name, extra.value)) }
                    if let l = try? Labels(pairs) { out.append((l, value)) }
                }
            }
        }
        return out
    }

    static func labelText(_ labels: [Label], _ extra: Label?) -> String {
        let all = extra.map { labels + [$0] } ?? labels
        guard !all.isEmpty else { return "" }
        return "{" + all.map { "\($0.name)=\"\(escapeValue($0.value))\"" }.joined(separator: ",") + "}"
    }

    static func escapeHelp(_ s: String) -> String { escape(s, quotes: false) }

    static func escapeValue(_ s: String) -> String { escape(s, quotes: true) }

    /// `\` → `\\`, newline → `\n`, and in label values `"` → `\"`.
    static func escape(_ s: String, quotes: Bool) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\n" || (quotes && $0 == "\"") }) else { return s }
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.append(c)
            }
        }
        return out
    }
}
