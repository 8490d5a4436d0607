import TSDB

/// A PromQL test script in the format of Prometheus 2.42's `promql/testdata/*.test`, parsed
/// as `promql/test.go` parses it:
///
/// ```
/// # A comment ends a load or eval block, as a blank line does.
/// load 5m
///     http_requests{job="api"} 0+10x10 _ stale
///
/// eval instant at 50m sum(http_requests)
///     {} 100
///
/// clear
/// ```
///
/// A line that cannot be parsed does not stop the parse: it becomes a ``Diagnostic`` and the
/// command it belongs to is dropped (an eval) or loses that series (a load).
package struct PromQLTestScript: Sendable {
    package var file: String
    package var commands: [Command]
    /// Lines that could not be parsed, in line order.
    package var diagnostics: [Diagnostic]

    package enum Command: Sendable {
        case clear(line: Int)
        case load(Load)
        case eval(Eval)
    }

    /// `load <interval>` and its series: sample i of a series is at i × interval ms.
    package struct Load: Sendable {
        package var line: Int
        package var interval: Int64
        /// In order of first appearance; a series defined twice keeps its last definition.
        package var series: [(labels: [Label], samples: [Sample], line: Int)]
    }

    /// `eval[_fail|_ordered] instant at <duration> <expr>` and the expected result.
    package struct Eval: Sendable {
        package enum Mode: Sendable { case normal, fail, ordered }
        package var line: Int
        package var mode: Mode
        /// Milliseconds since the epoch.
        package var time: Int64
        package var query: String
        /// nil with `parseError` set when the query does not parse.
        package var expr: Expr?
        package var parseError: String?
        package var expected: Expected
    }

    /// The expected result: samples by label set, and possibly a scalar.
    package struct Expected: Sendable {
        package var samples: [[Label]: ExpectedSample] = [:]
        package var scalar: Double?
        package var isEmpty: Bool { samples.isEmpty && scalar == nil }
    }

    package struct ExpectedSample: Sendable {
        package var labels: [Label]
        /// nil for a series line without a value, which never matches.
        package var value: Double?
        /// 1-based position among the expected lines, for `eval_ordered`.
        package var position: Int
        package var line: Int
    }

    package struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
        package var line: Int
        package var message: String
        package var description: String { "\(line): \(message)" }
    }

    /// Parses `text`; `file` is only used in messages.
    package static func parse(_ text: String, file: String = "<input>") -> PromQLTestScript {
        var script = PromQLTestScript(file: file, commands: [], diagnostics: [])
        // Trimmed lines, comments blanked (test.go's getLines).
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { raw -> String in
            let t = trimSpace(raw)
            return t.hasPrefix("#") ? "" : t
        }
        var i = 0
        while i < lines.count {
            let l = lines[i]
            if l.isEmpty { i += 1; continue }
            let word = firstWord(l).lowercased()
            if word == "clear" {
                script.commands.append(.clear(line: i + 1))
                i += 1
            } else if word == "load" {
                i = script.parseLoad(lines, i)
            } else if word.hasPrefix("eval") {
                i = script.parseEval(lines, i)
            } else {
                script.diagnostics.append(Diagnostic(line: i + 1, message: "invalid command \(goQuote(l))"))
                i += 1
            }
        }
        return script
    }

    /// Parses the load at `lines[i]`; returns the index after its block.
    mutating func parseLoad(_ lines: [String], _ start: Int) -> Int {
        var i = start + 1
        let header = lines[start]
        let rest = header.hasPrefix("load") ? trimSpace(Substring(header.dropFirst(4))) : ""
        let separated = header.hasPrefix("load") && header.dropFirst(4).first.map(Self.isSpace) == true
        var interval: Int64?
        if !separated || rest.isEmpty {
            diagnostics.append(Diagnostic(line: start + 1, message: "invalid load command. (load <step:duration>)"))
        } else {
            do { interval = try PromQLDuration.parse(rest) } catch {
                diagnostics.append(Diagnostic(line: start + 1, message: "invalid step definition \(goQuote(rest)): \(error.message)"))
            }
        }
        var load = Load(line: start + 1, interval: interval ?? 0, series: [])
        var index: [[Label]: Int] = [:]
        while i < lines.count, !lines[i].isEmpty {
            do {
                let desc = try SeriesDescription.parse(lines[i])
                var samples: [Sample] = []
                var t: Int64 = 0
                for v in desc.values {
                    if let v { samples.append(Sample(timestamp: t, value: v)) }
                    t = t &+ (interval ?? 0)
                }
                if let at = index[desc.labels] {
                    load.series[at] = (desc.labels, samples, i + 1)
                } else {
                    index[desc.labels] = load.series.count
                    load.series.append((desc.labels, samples, i + 1))
                }
            } catch {
                diagnostics.append(Diagnostic(line: i + 1, message: "parse error in series line: \(error.message)"))
            }
            i += 1
        }
        if interval != nil { commands.append(.load(load)) }
        return i
    }

    /// Parses the eval at `lines[i]`; returns the index after its block.
    mutating func parseEval(_ lines: [String], _ start: Int) -> Int {
        var i = start + 1
        // Skip the block whatever happens, as a unit.
        func skipBlock() -> Int {
            var j = start + 1
            while j < lines.count, !lines[j].isEmpty { j += 1 }
            return j
        }
        guard let header = Self.matchEvalHeader(lines[start]) else {
            diagnostics.append(Diagnostic(line: start + 1, message: "invalid evaluation command. (eval[_fail|_ordered] instant [at <offset:duration>] <query>"))
            return skipBlock()
        }
        var time: Int64 = 0
        do { time = try PromQLDuration.parse(header.at) } catch {
            diagnostics.append(Diagnostic(line: start + 1, message: "invalid step definition \(goQuote(header.at)): \(error.message)"))
            return skipBlock()
        }
        var eval = Eval(line: start + 1, mode: header.mode, time: time, query: header.query, expr: nil,
                        parseError: nil, expected: Expected())
        do { eval.expr = try PromQLParser.parse(header.query) } catch { eval.parseError = error.description }
        var position = 1
        var failed = false
        while i < lines.count, !lines[i].isEmpty {
            let line = lines[i]
            if let v = goParseNumber(line) {
                eval.expected.scalar = v
                break
            }
            do throws(ScriptLineError) {
                let desc = try SeriesDescription.parse(line)
                if desc.values.count > 1 {
                    throw ScriptLineError("expecting multiple values in instant evaluation not allowed")
                }
                let value: Double? = desc.values.isEmpty ? nil : (desc.values[0] ?? 0)
                eval.expected.samples[desc.labels] = ExpectedSample(labels: desc.labels, value: value, position: position, line: i + 1)
            } catch {
                diagnostics.append(Diagnostic(line: i + 1, message: "parse error in expected result: \(error.message)"))
                failed = true
            }
            position += 1
            i += 1
        }
        if !failed { commands.append(.eval(eval)) }
        return i < lines.count && !lines[i].isEmpty ? i + 1 : i
    }

    struct EvalHeader {
        var mode: Eval.Mode
        var at: String
        var query: String
    }

    /// `^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$`, matched by hand.
    static func matchEvalHeader(_ line: String) -> EvalHeader? {
        var s = Substring(line)
        guard s.hasPrefix("eval") else { return nil }
        s = s.dropFirst(4)
        var mode = Eval.Mode.normal
        if s.hasPrefix("_fail") { mode = .fail; s = s.dropFirst(5) }
        else if s.hasPrefix("_ordered") { mode = .ordered; s = s.dropFirst(8) }
        guard let afterSpace = dropSpaces(s, atLeast: 1), afterSpace.hasPrefix("instant") else { return nil }
        s = afterSpace.dropFirst(7)
        // With `at`: the shortest duration followed by spaces and a non-empty query.
        if let a = dropSpaces(s, atLeast: 1), a.hasPrefix("at"), let d = dropSpaces(a.dropFirst(2), atLeast: 1) {
            var end = d.startIndex
            while end < d.endIndex {
                if end > d.startIndex, isSpace(d[end]) {
                    let query = d[end...].drop(while: isSpace)
                    if !query.isEmpty { return EvalHeader(mode: mode, at: String(d[..<end]), query: String(query)) }
                }
                end = d.index(after: end)
            }
        }
        // Without `at`: `instant` needs two runs of space before the query, as the regexp does.
        guard let q = dropSpaces(s, atLeast: 2), !q.isEmpty else { return nil }
        return EvalHeader(mode: mode, at: "", query: String(q))
    }

    static func dropSpaces(_ s: Substring, atLeast n: Int) -> Substring? {
        let rest = s.drop(while: isSpace)
        return s.count - rest.count >= n ? rest : nil
    }

    static func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\n" || c == "\u{0C}" || c == "\u{0B}" }

    /// The first word, split at spaces and tabs (test.go's `patSpace`).
    static func firstWord(_ l: String) -> String {
        String(l.prefix { $0 != " " && $0 != "\t" })
    }
}

/// Go's `strings.TrimSpace` for ASCII white space.
func trimSpace(_ s: Substring) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\u{0B}" || $0 == "\u{0C}" || $0 == "\r\n" }
    var t = s.drop(while: isSpace)
    while let last = t.last, isSpace(last) { t = t.dropLast() }
    return String(t)
}
