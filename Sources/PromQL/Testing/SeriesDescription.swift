import TSDB

/// A series line of a test script, as Prometheus 2.42's `parser.ParseSeriesDesc` reads it:
/// `metric{a="b"} 1+2x3 _ stale 4`. Values are `nil` where the line omits a step (`_`).
package struct SeriesDescription: Sendable, Equatable {
    /// Sorted by name (bytes), empty values dropped.
    package var labels: [Label]
    package var values: [Double?]

    /// The most values one line may expand to; a larger repetition is an error, not an
    /// out-of-memory crash.
    package static let maximumValues = 10_000_000

    /// Bit-exact equality of values, so `stale` differs from `NaN`.
    package static func == (a: SeriesDescription, b: SeriesDescription) -> Bool {
        a.labels == b.labels && a.values.map { $0?.bitPattern } == b.values.map { $0?.bitPattern }
    }

    /// Parses one (trimmed) line.
    /// - Throws: a message naming what is wrong; the caller adds file and line.
    package static func parse(_ line: String) throws(ScriptLineError) -> SeriesDescription {
        let bytes = Array(line.utf8)
        let (labels, valuesStart) = try parseMetric(bytes)
        let values = try parseValues(bytes, from: valuesStart)
        return SeriesDescription(labels: labels, values: values)
    }

    /// The metric name and label set, and where the values begin.
    static func parseMetric(_ bytes: [UInt8]) throws(ScriptLineError) -> ([Label], Int) {
        var lexer = Lexer(bytes)
        var pairs: [(String, String)] = []
        do {
            var token = try lexer.nextToken()
            if isMetricName(token.kind) {
                pairs.append(("__name__", token.text))
                guard lexer.pos < bytes.count, bytes[lexer.pos] == UInt8(ascii: "{") else {
                    return (sortedLabels(pairs), lexer.pos)
                }
                token = try lexer.nextToken()
            }
            guard token.kind == .leftBrace else {
                throw ScriptLineError("unexpected \(Parser.describe(token)) in series description, expected a metric name or \"{\"")
            }
            let unquoter = Parser(lexer: Lexer([]))
            while true {
                token = try lexer.nextToken()
                if token.kind == .rightBrace { break }
                guard token.kind == .identifier else {
                    throw ScriptLineError("unexpected \(Parser.describe(token)) in label set, expected identifier or \"}\"")
                }
                let name = token.text
                let assign = try lexer.nextToken()
                guard assign.kind == .assign else {
                    throw ScriptLineError("unexpected \(Parser.describe(assign)) in label set, expected \"=\"")
                }
                let value = try lexer.nextToken()
                guard value.kind == .string else {
                    throw ScriptLineError("unexpected \(Parser.describe(value)) in label set, expected string")
                }
                pairs.append((name, unquoter.unquote(value.text)))
                let separator = try lexer.nextToken()
                if separator.kind == .rightBrace { break }
                guard separator.kind == .comma else {
                    throw ScriptLineError("unexpected \(Parser.describe(separator)) in label set, expected \",\" or \"}\"")
                }
            }
        } catch let error as PromQLParseError {
            throw ScriptLineError(error.message)
        } catch let error as ScriptLineError {
            throw error
        } catch {
            throw ScriptLineError("\(error)")
        }
        return (sortedLabels(pairs), lexer.pos)
    }

    /// The tokens Prometheus's grammar takes as a metric name in a series description.
    static func isMetricName(_ kind: TokenKind) -> Bool {
        switch kind {
        case .identifier, .metricIdentifier, .aggregator, .and, .or, .unless, .start, .end: return true
        case .keyword(let word): return word == "by" || word == "without" || word == "offset"
        default: return false
        }
    }

    static func sortedLabels(_ pairs: [(String, String)]) -> [Label] {
        pairs.filter { !$0.1.isEmpty }.map { Label(name: $0.0, value: $0.1) }
            .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    enum ValueToken: Equatable {
        case space, add, sub, times, blank, number(String), identifier(String), end
    }

    /// The value-sequence lexer of Prometheus's series-description mode.
    static func lexValues(_ b: [UInt8], from start: Int) throws(ScriptLineError) -> [ValueToken] {
        var out: [ValueToken] = []
        var i = start
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func isAlpha(_ c: UInt8) -> Bool { c == 95 || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) }
        func text(_ from: Int, _ to: Int) -> String { String(decoding: b[from..<to], as: UTF8.self) }
        while i < b.count {
            let c = b[i]
            switch c {
            case 32, 9, 10, 13:
                while i < b.count, [32, 9, 10, 13].contains(b[i]) { i += 1 }
                out.append(.space)
            case UInt8(ascii: "+"): out.append(.add); i += 1
            case UInt8(ascii: "-"): out.append(.sub); i += 1
            case UInt8(ascii: "x"): out.append(.times); i += 1
            case UInt8(ascii: "_"): out.append(.blank); i += 1
            case _ where isDigit(c) || (c == UInt8(ascii: ".") && i + 1 < b.count && isDigit(b[i + 1])):
                let s = i
                while i < b.count, isDigit(b[i]) { i += 1 }
                if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; while i < b.count, isDigit(b[i]) { i += 1 } }
                if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                    i += 1
                    if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                    while i < b.count, isDigit(b[i]) { i += 1 }
                }
                if i < b.count, b[i] != UInt8(ascii: "x"), isAlpha(b[i]) || isDigit(b[i]) {
                    throw ScriptLineError("bad number syntax: \(goQuote(text(s, i + 1)))")
                }
                out.append(.number(text(s, i)))
            case _ where isAlpha(c):
                let s = i
                while i < b.count, isAlpha(b[i]) || isDigit(b[i]) || b[i] == UInt8(ascii: ":") { i += 1 }
                let word = text(s, i)
                let lower = word.lowercased()
                out.append(lower == "inf" || lower == "nan" ? .number(word) : .identifier(word))
            default:
                let (r, _) = Lexer(b).decode(at: i)
                throw ScriptLineError("unexpected character in series sequence: \(goQuoteRune(r))")
            }
        }
        out.append(.end)
        return out
    }

    /// `series_values` of Prometheus's grammar, expanding repetitions as it does: `a+bxN`
    /// is N+1 values made by repeated addition, `_xN` is N omitted steps.
    static func parseValues(_ bytes: [UInt8], from start: Int) throws(ScriptLineError) -> [Double?] {
        let tokens = try lexValues(bytes, from: start)
        var values: [Double?] = []
        var i = 0
        func describe(_ t: ValueToken) -> String {
            switch t {
            case .space: "space"
            case .add: "\"+\""
            case .sub: "\"-\""
            case .times: "\"x\""
            case .blank: "\"_\""
            case .number(let s): "number \(goQuote(s))"
            case .identifier(let s): "identifier \(goQuote(s))"
            case .end: "end of input"
            }
        }
        func repetition() throws(ScriptLineError) -> Int {
            guard case .number(let s) = tokens[i], let n = UInt64(s) else {
                throw ScriptLineError("invalid repetition in series values: \(describe(tokens[i]))")
            }
            i += 1
            guard n < UInt64(maximumValues) else {
                throw ScriptLineError("repetition \(n) in series values is more than this runner allows (\(maximumValues))")
            }
            return Int(n)
        }
        func number(_ s: String) throws(ScriptLineError) -> Double {
            guard let v = goParseNumber(s) else { throw ScriptLineError("error parsing number: \(goQuote(s))") }
            return v
        }
        func grow(_ count: Int) throws(ScriptLineError) {
            if values.count + count > maximumValues {
                throw ScriptLineError("series line expands to more than \(maximumValues) values")
            }
        }
        while true {
            switch tokens[i] {
            case .end: return values
            case .space: i += 1
            default: throw ScriptLineError("unexpected \(describe(tokens[i])) in series values")
            }
            if tokens[i] == .end { return values }
            if tokens[i] == .blank {
                i += 1
                if tokens[i] == .times {
                    i += 1
                    let n = try repetition()
                    try grow(n)
                    values.append(contentsOf: [Double?](repeating: nil, count: n))
                } else {
                    values.append(nil)
                }
                continue
            }
            var value: Double
            switch tokens[i] {
            case .identifier(let word):
                guard word == "stale" else {
                    throw ScriptLineError("unexpected identifier \(goQuote(word)) in series values, expected number or \"stale\"")
                }
                value = Double(bitPattern: staleNaNBits)  // the engine's StaleNaN, 0x7ff0000000000002
                i += 1
            case .number(let s):
                value = try number(s)
                i += 1
            case .add, .sub:
                let negative = tokens[i] == .sub
                i += 1
                guard case .number(let s) = tokens[i] else {
                    throw ScriptLineError("unexpected \(describe(tokens[i])) in series values, expected number")
                }
                value = try number(s)
                if negative { value = -value }
                i += 1
            default:
                throw ScriptLineError("unexpected \(describe(tokens[i])) in series values")
            }
            switch tokens[i] {
            case .times:
                i += 1
                let n = try repetition()
                try grow(n + 1)
                values.append(contentsOf: [Double?](repeating: value, count: n + 1))
            case .add, .sub:
                let negative = tokens[i] == .sub
                i += 1
                guard case .number(let s) = tokens[i] else {
                    throw ScriptLineError("unexpected \(describe(tokens[i])) in series values, expected number")
                }
                var delta = try number(s)
                if negative { delta = -delta }
                i += 1
                guard tokens[i] == .times else {
                    throw ScriptLineError("unexpected \(describe(tokens[i])) in series values, expected \"x\"")
                }
                i += 1
                let n = try repetition()
                try grow(n + 1)
                for _ in 0...n {
                    values.append(value)
                    value += delta
                }
            default:
                values.append(value)
            }
        }
    }
}

/// What is wrong with one line of a test script.
package struct ScriptLineError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Go's `strconv.ParseInt(s, 0, 64)` then, if that fails, `strconv.ParseFloat(s, 64)`: how
/// Prometheus reads numbers in series lines and expected scalars. nil where both fail
/// (including a float out of range).
package func goParseNumber(_ s: String) -> Double? {
    if let n = goParseInt(s) { return Double(n) }
    return goParseFloat(s)
}

/// `strconv.ParseInt(s, 0, 64)`: a sign, then `0x`, `0o`, `0b`, a leading `0` (octal) or
/// decimal digits; underscores only after a base prefix.
func goParseInt(_ s: String) -> Int64? {
    var body = Substring(s)
    var negative = false
    if let f = body.first, f == "+" || f == "-" { negative = f == "-"; body = body.dropFirst() }
    guard !body.isEmpty else { return nil }
    var radix = 10
    let lower = body.lowercased()
    if lower.hasPrefix("0x") { radix = 16; body = body.dropFirst(2) }
    else if lower.hasPrefix("0o") { radix = 8; body = body.dropFirst(2) }
    else if lower.hasPrefix("0b") { radix = 2; body = body.dropFirst(2) }
    else if body.count > 1, body.hasPrefix("0") { radix = 8; body = body.dropFirst() }
    let prefixed = radix != 10
    if prefixed {
        // Underscores must separate digits (or follow the prefix).
        if body.hasSuffix("_") || body.contains("__") { return nil }
        body = Substring(body.filter { $0 != "_" })
    }
    guard !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isHexDigit }),
          let magnitude = UInt64(body, radix: radix) else { return nil }
    if negative {
        guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
        return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
    }
    guard magnitude <= UInt64(Int64.max) else { return nil }
    return Int64(magnitude)
}

/// `strconv.ParseFloat(s, 64)` for what test files contain: decimal and hex floats,
/// `Inf`/`Infinity` with an optional sign and `NaN`, case-insensitive. Out of range is nil.
func goParseFloat(_ s: String) -> Double? {
    var body = Substring(s)
    var sign = ""
    if let f = body.first, f == "+" || f == "-" { sign = String(f); body = body.dropFirst() }
    let lower = body.lowercased()
    if lower == "inf" || lower == "infinity" { return sign == "-" ? -.infinity : .infinity }
    if lower == "nan" { return sign.isEmpty ? .nan : nil }
    let bytes = Array(lower.utf8)
    if lower.hasPrefix("0x") {
        guard bytes.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || $0 == 46 || $0 == 112 || $0 == 120 || $0 == 43 || $0 == 45 }),
              lower.contains("p"), let v = Double(sign + lower), v.isFinite else { return nil }
        return v
    }
    guard Parser.isDecimalFloat(bytes) || isDotFirstFloat(bytes), let v = Double(sign + lower), v.isFinite else { return nil }
    return v
}

/// `.5`, `.5e3`, `5.`: decimal forms `isDecimalFloat` does not take but Go does.
private func isDotFirstFloat(_ b: [UInt8]) -> Bool {
    guard let dot = b.firstIndex(of: 46) else { return false }
    var rest = b
    rest.remove(at: dot)
    if dot == 0 { rest.insert(48, at: 0) }
    return Parser.isDecimalFloat(rest)
}
