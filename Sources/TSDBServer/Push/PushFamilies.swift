import Exposition
import TSDB

/// The metric types of the text format, as Go's `dto.MetricType` names them in TYPE lines.
enum PushMetricType: String, Sendable {
    case counter, gauge, untyped, histogram, summary
}

/// One metric of a family, as Go's `dto.Metric`: labels sorted by name (grouping labels
/// applied, `instance` present), and the value, or a histogram's buckets or a summary's
/// quantiles with their sum and count.
struct PushedMetric: Sendable {
    var labels: [Label]
    var value = 0.0
    /// (upper bound, cumulative count) in pushed order.
    var buckets: [(Double, Double)] = []
    /// (quantile, value) in pushed order.
    var quantiles: [(Double, Double)] = []
    var sum = 0.0
    var count = 0.0
}

/// A metric family of one group: Go's `dto.MetricFamily` as the Pushgateway keeps it.
struct PushedFamily: Sendable {
    var name: String
    var help: String?
    var type: PushMetricType
    var metrics: [PushedMetric]
}

/// What parsing a push body found.
struct ParsedPush {
    var families: [String: PushedFamily]
    var hasTimestamps: Bool
}

enum PushText {
    /// Parses `body` as the text format 0.0.4 into families, with the rules of Go's
    /// `expfmt.TextParser` that the Pushgateway uses: one HELP and one TYPE per family, TYPE
    /// before the family's samples, `_bucket`/`_sum`/`_count` (and a summary's quantile
    /// lines) folded into their histogram or summary, families without samples dropped.
    /// The error is the Pushgateway's body: `text format parsing error in line N: …`.
    static func parse(_ body: UnsafeRawBufferPointer) -> Result<ParsedPush, PushError> {
        var parser = TextParser(body, format: .prometheusText)
        var builders: [String: Builder] = [:]
        var hasTimestamps = false
        func fail(_ line: Int, _ message: String) -> Result<ParsedPush, PushError> {
            .failure(PushError(status: 400, message: "text format parsing error in line \(line): \(message)"))
        }
        while true {
            let entry: TextEntry?
            do {
                entry = try parser.nextEntry()
            } catch {
                return fail(parser.line, stripLinePrefix(error.message))
            }
            guard let entry else { break }
            switch entry {
            case .metadata(let m):
                var b = builders[m.name] ?? Builder(name: m.name)
                if m.kind == .help {
                    if b.help != nil { return fail(m.line, "second HELP line for metric name \(goQuote(m.name))") }
                    b.help = unescapeHelp(m.text)
                } else {
                    if b.type != nil || !b.metrics.isEmpty {
                        return fail(m.line, "second TYPE line for metric name \(goQuote(m.name)), or TYPE reported after samples")
                    }
                    b.type = PushMetricType(rawValue: m.text) ?? .untyped
                }
                builders[m.name] = b
            case .sample(let s):
                if s.timestamp != nil { hasTimestamps = true }
                let all: Labels
                do { all = try parser.labels(of: s) } catch { return fail(s.line, stripLinePrefix(error.message)) }
                let sampleName = all.first { $0.name == "__name__" }?.value ?? ""
                let labels = all.filter { $0.name != "__name__" }
                let (familyName, role) = resolve(sampleName, builders)
                var b = builders[familyName] ?? Builder(name: familyName)
                if let message = b.add(role: role, labels: labels, value: s.value) { return fail(s.line, message) }
                builders[familyName] = b
            }
        }
        var families: [String: PushedFamily] = [:]
        for (name, b) in builders where !b.metrics.isEmpty {
            families[name] = PushedFamily(name: name, help: b.help, type: b.type ?? .untyped, metrics: b.metrics)
        }
        return .success(ParsedPush(families: families, hasTimestamps: hasTimestamps))
    }

    /// Which sample of a family a line is.
    enum Role { case plain, sum, count, bucket }

    /// Go's `setOrCreateCurrentMF`: the family of that exact name, else a summary the name
    /// is the `_sum`/`_count` of, else a histogram it is the `_sum`/`_count`/`_bucket` of.
    static func resolve(_ name: String, _ builders: [String: Builder]) -> (String, Role) {
        if builders[name] != nil { return (name, .plain) }
        for (suffix, role) in [("_sum", Role.sum), ("_count", .count), ("_bucket", .bucket)] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            guard let t = builders[base]?.type else { continue }
            if t == .histogram || (t == .summary && role != .bucket) { return (base, role) }
        }
        return (name, .plain)
    }

    struct Builder {
        var name: String
        var help: String?
        var type: PushMetricType?
        var metrics: [PushedMetric] = []
        /// For histograms and summaries: the metric index of each label set (le/quantile aside).
        var index: [[Label]: Int] = [:]

        mutating func add(role: Role, labels: [Label], value: Double) -> String? {
            let t = type ?? .untyped
            guard t == .histogram || t == .summary else {
                metrics.append(PushedMetric(labels: labels, value: value))
                return nil
            }
            let special = t == .histogram ? "le" : "quantile"
            let own = role == .bucket || (role == .plain && t == .summary)
            var key = labels
            var bound: Double?
            if own {
                guard let l = labels.first(where: { $0.name == special }) else {
                    return t == .histogram ? "histogram bucket without le label" : "summary sample without quantile label"
                }
                guard let v = TextParser.parseGoFloat(l.value) else {
                    return "expected float as value for '\(special)' label, got \(goQuote(l.value))"
                }
                bound = v
                key.removeAll { $0.name == special }
            } else if role == .plain {
                return "histogram sample without a _bucket, _sum or _count suffix"
            }
            let i: Int
            if let existing = index[key] {
                i = existing
            } else {
                i = metrics.count
                index[key] = i
                metrics.append(PushedMetric(labels: key))
            }
            switch role {
            case .sum: metrics[i].sum = value
            case .count: metrics[i].count = value
            case .bucket: metrics[i].buckets.append((bound ?? 0, value))
            case .plain: metrics[i].quantiles.append((bound ?? 0, value))
            }
            return nil
        }
    }

    static func stripLinePrefix(_ message: String) -> String {
        guard message.hasPrefix("line "), let colon = message.firstIndex(of: ":") else { return message }
        return String(message[message.index(after: colon)...].drop { $0 == " " })
    }

    /// HELP text escapes of the text format: `\\` and `\n`.
    static func unescapeHelp(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                switch c {
                case "\\": out.append("\\")
                case "n": out.append("\n")
                default: out.append("\\"); out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        if escaped { out.append("\\") }
        return out
    }

    /// Pushgateway's `sanitizeLabels`: the grouping labels' values on every metric, no
    /// matter what was pushed, and `instance=""` where no instance label is.
    static func applyGrouping(_ grouping: GroupingPath, to families: inout [String: PushedFamily]) {
        for name in Array(families.keys) {
            guard var f = families[name] else { continue }
            for i in f.metrics.indices {
                f.metrics[i].labels = groupedLabels(f.metrics[i].labels, grouping)
            }
            families[name] = f
        }
    }

    static func groupedLabels(_ labels: [Label], _ grouping: GroupingPath) -> [Label] {
        var byName: [String: String] = [:]
        for l in labels { byName[l.name] = l.value }
        for g in grouping.labels { byName[g.name] = g.value }
        if byName["instance"] == nil { byName["instance"] = "" }
        return byName.sorted { $0.key < $1.key }.map { Label(name: $0.key, value: $0.value) }
    }
}

/// A refused push: the status and the body the Pushgateway answers with.
struct PushError: Error, Equatable {
    var status: Int
    var message: String
}
