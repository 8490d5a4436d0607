import ArgumentParser
import Exposition
import PromQL
import TSDB

import Foundation

/// `tsdb-inspect query DIR EXPR`: evaluates PromQL over a data directory and prints the
/// result as `promtool query instant` / `promtool query range` of Prometheus 2.42 print it.
struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run a PromQL query over a data directory (read-only), printed as promtool prints it.",
        discussion: """
            Without --start, --end or --step this is an instant query at --time (default now);
            with any of them a range query, with promtool's defaults: --end now, --start five
            minutes before --end, --step the range / 250 rounded down to whole seconds (at
            least 1s). Times are RFC 3339 or Unix seconds with an optional fraction; --step is
            a Go duration such as 15s, 1m or 1m30s.

            Output is Go's model.Value text: vector lines `up{job="x"} => 1 @[1700000000]`,
            matrix series `up{job="x"} =>` followed by one `value @[time]` line per point,
            `scalar: 1 @[1700000000]`. An error prints `query error: <type>: <message>` and
            exits 1.

            Examples:
              tsdb-inspect query data/ 'sum by (job) (rate(http_requests_total[5m]))' --time 1700000000
              tsdb-inspect query data/ up --start 2023-11-14T22:00:00Z --end 2023-11-14T23:00:00Z --step 1m
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Argument(help: "The PromQL expression.")
    var expr: String

    @Option(help: "Evaluation time of an instant query (RFC 3339 or Unix seconds).")
    var time: String?

    @Option(help: "Start of a range query.")
    var start: String?

    @Option(help: "End of a range query.")
    var end: String?

    @Option(help: "Step of a range query (Go duration).")
    var step: String?

    @Option(help: "How far back an instant selector looks (Go duration).")
    var lookbackDelta = "5m"

    func run() throws {
        guard let lookback = goDurationMilliseconds(lookbackDelta), lookback > 0 else {
            throw ValidationError("--lookback-delta \(lookbackDelta) is not a positive duration such as 5m")
        }
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let isRange = start != nil || end != nil || step != nil
        if !isRange {
            let at = try time.map { try parsedTime($0, "evaluation time") } ?? now
            try evaluate(lookback: lookback) { engine, db throws(PromQLError) in try engine.instantQuery(db, expr, at: at) }
            return
        }
        if time != nil { throw ValidationError("--time is for instant queries; a range query takes --start, --end and --step") }
        let e = try end.map { try parsedTime($0, "end time") } ?? now
        let s = try start.map { try parsedTime($0, "start time") } ?? e - 5 * 60_000
        guard s < e else {
            printError("start time is not before end time")
            throw ExitCode.failure
        }
        var stepMS: Int64
        if let step {
            guard let d = goDurationMilliseconds(step) else {
                throw ValidationError("--step \(step) is not a duration such as 15s or 1m")
            }
            stepMS = d
        } else {
            stepMS = Swift.max((e - s) / 1000 / 250, 1) * 1000
        }
        if stepMS == 0 { stepMS = Swift.max((e - s) / 1000 / 250, 1) * 1000 }
        try evaluate(lookback: lookback) { engine, db throws(PromQLError) in
            try engine.rangeQuery(db, expr, start: s, end: e, step: stepMS)
        }
    }

    func parsedTime(_ text: String, _ what: String) throws -> Int64 {
        guard let ms = parsePromtoolTime(text) else {
            printError("error parsing \(what): cannot parse \"\(text)\" to a valid timestamp")
            throw ExitCode.failure
        }
        return ms
    }

    func evaluate(lookback: Int64, _ body: (PromQLEngine, DB) throws(PromQLError) -> PromQLResult) throws {
        let db = try reportingErrors { () throws(TSDBError) -> DB in try DB.openReadOnly(directory: directory) }
        defer { try? db.close() }
        let engine = PromQLEngine(options: .init(lookbackDelta: .milliseconds(lookback)))
        let result: PromQLResult
        do { result = try body(engine, db) } catch {
            printError("query error: \(Self.errorType(error.kind)): " + (error.kind == .parse ? "invalid parameter \"query\": " : "") + error.message)
            throw ExitCode.failure
        }
        print(Self.format(result))
    }

    /// The HTTP API's `errorType` for an error kind.
    static func errorType(_ kind: PromQLError.Kind) -> String {
        switch kind {
        case .parse: "bad_data"
        case .execution, .tooManySamples: "execution"
        case .timeout: "timeout"
        case .canceled: "canceled"
        case .storage: "internal"
        }
    }

    /// Go's `model.Value.String()` of a result.
    static func format(_ result: PromQLResult) -> String {
        switch result {
        case .scalar(let t, let v): return "scalar: \(formatValue(v)) @[\(formatTime(t))]"
        case .string(let t, let s): return "string: \(s) @[\(formatTime(t))]"
        case .vector(let samples):
            return samples.map { "\(formatMetric($0.labels)) => \(formatValue($0.value)) @[\(formatTime($0.timestamp))]" }
                .joined(separator: "\n")
        case .matrix(let series):
            return series.sorted { labelSetBefore(Array($0.labels), Array($1.labels)) }.map { s in
                ([formatMetric(s.labels) + " =>"] + s.points.map { "\(formatValue($0.value)) @[\(formatTime($0.timestamp))]" })
                    .joined(separator: "\n")
            }.joined(separator: "\n")
        }
    }

    /// `model.Metric.String()`: the name, then `name="value"` pairs sorted as strings.
    static func formatMetric(_ labels: Labels) -> String {
        var name: String?
        var pairs: [String] = []
        for l in labels {
            if l.name == "__name__" { name = l.value } else { pairs.append("\(l.name)=\(goQuote(l.value))") }
        }
        if pairs.isEmpty { return name ?? "{}" }
        pairs.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return (name ?? "") + "{" + pairs.joined(separator: ", ") + "}"
    }

    /// `model.LabelSet.Before`: fewer labels first, then by the values of the sorted union of names.
    static func labelSetBefore(_ a: [Label], _ b: [Label]) -> Bool {
        if a.count != b.count { return a.count < b.count }
        var av: [String: String] = [:], bv: [String: String] = [:]
        for l in a { av[l.name] = l.value }
        for l in b { bv[l.name] = l.value }
        let names = (a.map(\.name) + b.map(\.name)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        for n in names {
            guard let x = av[n] else { return true }
            guard let y = bv[n] else { return false }
            if x != y { return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8)) }
        }
        return false
    }

    /// `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent.
    static func formatValue(_ v: Double) -> String { GoFormat.fixed(v) }

    /// `model.Time.String()`: seconds with up to three decimals, trailing zeros dropped.
    static func formatTime(_ ms: Int64) -> String {
        formatValue(Double(ms) / 1000)
    }
}


/// promtool's `parseTime`: Unix seconds with a fraction, or RFC 3339; milliseconds, rounded
/// as Prometheus's API rounds them.
func parsePromtoolTime(_ text: String) -> Int64? {
    if let seconds = Double(text), seconds.isFinite, text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true {
        return Int64((seconds * 1000).rounded())
    }
    return parseRFC3339(text)
}

/// `2006-01-02T15:04:05.999999999Z07:00` to milliseconds.
func parseRFC3339(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    func num(_ from: Int, _ count: Int) -> Int64? {
        guard from + count <= b.count else { return nil }
        var n: Int64 = 0
        for c in b[from..<(from + count)] {
            guard c >= 48, c <= 57 else { return nil }
            n = n * 10 + Int64(c - 48)
        }
        return n
    }
    guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116, b[13] == 58, b[16] == 58,
          let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
          let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2),
          (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
    var i = 19
    var fractionMS: Int64 = 0
    if b[i] == 46 {
        i += 1
        let s = i
        var digits: [UInt8] = []
        while i < b.count, b[i] >= 48, b[i] <= 57 { digits.append(b[i] - 48); i += 1 }
        guard i > s else { return nil }
        let nanos = (digits + [UInt8](repeating: 0, count: 9)).prefix(9).reduce(Int64(0)) { $0 * 10 + Int64($1) }
        fractionMS = (nanos + 500_000) / 1_000_000
    }
    guard i < b.count else { return nil }
    var offset: Int64 = 0
    if b[i] == 90 || b[i] == 122 {
        guard i + 1 == b.count else { return nil }
    } else if b[i] == 43 || b[i] == 45 {
        guard i + 6 == b.count, b[i + 3] == 58, let oh = num(i + 1, 2), let om = num(i + 4, 2) else { return nil }
        offset = (oh * 60 + om) * 60 * (b[i] == 45 ? -1 : 1)
    } else {
        return nil
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
    return seconds * 1000 + fractionMS
}

/// Go's `time.ParseDuration` in milliseconds (truncated): `1h30m`, `15s`, `1.5s`, `500ms`.
func goDurationMilliseconds(_ text: String) -> Int64? {
    if text == "0" { return 0 }
    let units: [(String, Double)] = [("ns", 1e-6), ("us", 1e-3), ("µs", 1e-3), ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
    var rest = Substring(text)
    var negative = false
    if rest.hasPrefix("-") || rest.hasPrefix("+") { negative = rest.first == "-"; rest = rest.dropFirst() }
    guard !rest.isEmpty else { return nil }
    var total = 0.0
    while !rest.isEmpty {
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, let v = Double(number) else { return nil }
        rest = rest.dropFirst(number.count)
        guard let unit = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else { return nil }
        rest = rest.dropFirst(unit.0.count)
        total += v * unit.1
    }
    guard total < 9.2e15 else { return nil }
    return Int64(negative ? -total : total)
}
