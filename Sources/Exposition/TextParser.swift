#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import TSDB

/// One sample line of exposition text: where its series text (`name{labels}`) lies in the
/// input, its value and its timestamp in milliseconds (nil when the line has none).
package struct TextSample: Sendable {
    package var series: Range<Int>
    package var value: Double
    package var timestamp: Int64?
    /// 1-based line number.
    package var line: Int
}

/// A `# HELP` or `# TYPE` line, as ``TextParser/nextEntry()`` reports it: the text after the
/// metric name as written (HELP text still escaped), and the 1-based line number.
package struct TextMetadata: Sendable, Equatable {
    package enum Kind: Sendable, Equatable { case help, type }
    package var kind: Kind
    package var name: String
    package var text: String
    package var line: Int
}

/// What ``TextParser/nextEntry()`` reads: a sample or a metadata line.
package enum TextEntry: Sendable {
    case sample(TextSample)
    case metadata(TextMetadata)
}

/// Reads OpenMetrics text and the Prometheus text exposition format, with the rules of
/// Prometheus 2.42's `textparse` (which `promtool tsdb create-blocks-from openmetrics` uses):
///
/// - OpenMetrics: `# HELP`, `# TYPE` and `# UNIT` lines, a final `# EOF`, single spaces,
///   timestamps in (fractional) seconds turned into `Int64(seconds * 1000)`, exemplars
///   after ` # ` (skipped); no other comments and no blank lines.
/// - Prometheus text: `# HELP`/`# TYPE` and free comments, blank lines, spaces and tabs
///   between tokens, a trailing comma in label sets, timestamps in integer milliseconds.
///
/// In both, label values are unescaped for `\\`, `\"` and `\n` only, values parse as Go's
/// `strconv.ParseFloat` does (`NaN`, `+Inf`, `-Inf`, exponents; no hex, no `_`), and a
/// parsed NaN is Go's `math.NaN()` (bits 0x7ff8000000000001), as Prometheus stores it.
///
/// A value type over bytes it does not own: the buffer must outlive the parser and every
/// range it returns. Never traps on any input; errors name the line and byte offset.
package struct TextParser {
    package enum Format: Sendable, Equatable {
        case openMetrics
        case prometheusText
    }

    package let format: Format
    let bytes: UnsafeRawBufferPointer
    let file: String?
    /// Start of the next line.
    package private(set) var offset = 0
    /// Lines consumed so far.
    package private(set) var line = 0
    private var sawEOF = false

    /// Go's `math.NaN()`, which Prometheus's parsers return for `NaN`.
    package static let goNaN = Double(bitPattern: 0x7ff8_0000_0000_0001)

    package init(_ bytes: UnsafeRawBufferPointer, format: Format, file: String? = nil) {
        self.bytes = bytes
        self.format = format
        self.file = file
    }

    /// OpenMetrics when the input's last line is `# EOF`, else the Prometheus text format.
    package static func detectFormat(_ bytes: UnsafeRawBufferPointer) -> Format {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D || bytes[end - 1] == 0x20 { end -= 1 }
        let marker = Array("# EOF".utf8)
        guard end >= marker.count else { return .prometheusText }
        for i in 0..<marker.count where bytes[end - marker.count + i] != marker[i] { return .prometheusText }
        return end == marker.count || bytes[end - marker.count - 1] == 0x0A ? .openMetrics : .prometheusText
    }

    func error(_ message: String, at position: Int) -> TSDBError {
        TSDBError(.invalidArgument, "line \(line): \(message)", location: .init(file: file, offset: position))
    }

    /// The next sample; nil at the end of the input. Metadata and comment lines are checked
    /// and skipped.
    package mutating func next() throws(TSDBError) -> TextSample? {
        while let entry = try nextEntry() {
            if case .sample(let sample) = entry { return sample }
        }
        return nil
    }

    /// The next sample or `# HELP`/`# TYPE` line (checked as ``next()`` checks them); nil at
    /// the end of the input. Free comments and `# UNIT` lines are skipped.
    package mutating func nextEntry() throws(TSDBError) -> TextEntry? {
        while offset < bytes.count {
            let start = offset
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            offset = end + 1
            line += 1
            if sawEOF { throw error("data after # EOF", at: start) }
            if let entry = try parseLine(start, end) { return entry }
        }
        if format == .openMetrics && !sawEOF {
            throw TSDBError(.invalidArgument, "line \(line): data does not end with # EOF", location: .init(file: file, offset: bytes.count))
        }
        return nil
    }

    private mutating func parseLine(_ start: Int, _ end: Int) throws(TSDBError) -> TextEntry? {
        var i = start
        if format == .prometheusText {
            skipBlanks(&i, end)
            if i == end { return nil }
        } else if i == end {
            throw error("blank line (OpenMetrics allows none)", at: start)
        }
        if bytes[i] == UInt8(ascii: "#") {
            return try parseComment(i, end).map { .metadata($0) }
        }
        let seriesStart = i
        guard i < end, isNameStart(bytes[i]) || bytes[i] == UInt8(ascii: ":") else {
            throw error("expected a metric name, found \(describe(i, end))", at: i)
        }
        while i < end, isNameChar(bytes[i]) || bytes[i] == UInt8(ascii: ":") { i += 1 }
        if format == .prometheusText { skipBlanks(&i, end) }
        if i < end, bytes[i] == UInt8(ascii: "{") { try skipLabels(&i, end) }
        let seriesEnd = i
        // Separator, then the value.
        try separator(&i, end, what: "value")
        let valueStart = i
        while i < end, bytes[i] != 0x20, bytes[i] != 0x09 || format == .openMetrics { i += 1 }
        let value = try parseValue(valueStart, i)
        var timestamp: Int64?
        if format == .openMetrics {
            if i < end {
                i += 1  // the single space
                if i < end, bytes[i] == UInt8(ascii: "#") {
                    try skipExemplar(i - 1, end, name: seriesStart..<seriesEnd)
                } else {
                    let tsStart = i
                    while i < end, bytes[i] != 0x20 { i += 1 }
                    timestamp = try parseSeconds(tsStart, i)
                    if i < end {
                        guard i + 1 < end, bytes[i + 1] == UInt8(ascii: "#") else {
                            throw error("expected the end of the line or an exemplar after the timestamp", at: i)
                        }
                        try skipExemplar(i, end, name: seriesStart..<seriesEnd)
                    }
                }
            }
        } else {
            skipBlanks(&i, end)
            if i < end, bytes[i] != 0x0D {
                let tsStart = i
                if bytes[i] == UInt8(ascii: "-") { i += 1 }
                while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
                guard let ts = Int64(text(tsStart, i)) else {
                    throw error("expected a timestamp in milliseconds, found \(describe(tsStart, end))", at: tsStart)
                }
                timestamp = ts
                skipBlanks(&i, end)
                if i < end, bytes[i] == 0x0D { i += 1 }
                guard i == end else { throw error("unexpected \(describe(i, end)) after the timestamp", at: i) }
            }
        }
        return .sample(TextSample(series: seriesStart..<seriesEnd, value: value, timestamp: timestamp, line: line))
    }

    // MARK: Comments and metadata

    private mutating func parseComment(_ hash: Int, _ end: Int) throws(TSDBError) -> TextMetadata? {
        var i = hash + 1
        let words = ["HELP", "TYPE", "UNIT", "EOF"]
        if format == .openMetrics {
            guard i < end, bytes[i] == 0x20 else { throw error("expected a space after #", at: i) }
            i += 1
            if text(i, end) == "EOF" { sawEOF = true; return nil }
        } else {
            guard i < end, bytes[i] == 0x20 || bytes[i] == 0x09 else { return nil }  // a free comment
            skipBlanks(&i, end)
        }
        var wordEnd = i
        while wordEnd < end, bytes[wordEnd] != 0x20, bytes[wordEnd] != 0x09 { wordEnd += 1 }
        let word = text(i, wordEnd)
        guard words.contains(word), word != "EOF", format == .openMetrics || word != "UNIT" else {
            if format == .openMetrics { throw error("expected HELP, TYPE, UNIT or EOF after #, found \(describe(i, end))", at: i) }
            return nil
        }
        i = wordEnd
        try separator(&i, end, what: "metric name after \(word)")
        let nameStart = i
        guard i < end, isNameStart(bytes[i]) || bytes[i] == UInt8(ascii: ":") else {
            throw error("expected a metric name after \(word)", at: i)
        }
        while i < end, isNameChar(bytes[i]) || bytes[i] == UInt8(ascii: ":") { i += 1 }
        let name = text(nameStart, i)
        var rest = ""
        if i < end {
            guard bytes[i] == 0x20 || bytes[i] == 0x09 else { throw error("expected a space after the metric name", at: i) }
            rest = text(i + 1, end)
            if format == .prometheusText { rest = String(rest.drop { $0 == " " || $0 == "\t" }) }
        } else if format == .openMetrics {
            throw error("expected text in \(word)", at: i)
        }
        if rest.hasSuffix("\r") { rest.removeLast() }
        switch word {
        case "TYPE":
            let types = format == .openMetrics
                ? ["counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"]
                : ["counter", "gauge", "histogram", "summary", "untyped"]
            guard types.contains(rest) else { throw error("invalid metric type \(goQuote(rest))", at: i) }
            return TextMetadata(kind: .type, name: name, text: rest, line: line)
        case "UNIT":
            if !rest.isEmpty, !(name.hasSuffix("_" + rest)) {
                throw error("unit \(goQuote(rest)) is not a suffix of metric \(goQuote(name))", at: i)
            }
            return nil
        default:
            guard String(validating: UnsafeRawBufferPointer(rebasing: bytes[min(i, end)..<end]), as: UTF8.self) != nil else {
                throw error("help text is not valid UTF-8", at: i)
            }
            return TextMetadata(kind: .help, name: name, text: rest, line: line)
        }
    }

    private func skipExemplar(_ space: Int, _ end: Int, name: Range<Int>) throws(TSDBError) {
        // ` # {labels} value [timestamp]`, allowed on counters and histogram buckets.
        let metric = text(name.lowerBound, name.upperBound).prefix { $0 != "{" }
        guard metric.hasSuffix("_total") || metric.hasSuffix("_bucket") else {
            throw error("metric name \(metric) does not support exemplars", at: space)
        }
        var i = space
        for expected in [UInt8(ascii: " "), UInt8(ascii: "#"), UInt8(ascii: " ")] {
            guard i < end, bytes[i] == expected else { throw error("malformed exemplar", at: i) }
            i += 1
        }
        guard i < end, bytes[i] == UInt8(ascii: "{") else { throw error("expected { after # in an exemplar", at: i) }
        try skipLabels(&i, end)
        try separator(&i, end, what: "exemplar value")
        let valueStart = i
        while i < end, bytes[i] != 0x20 { i += 1 }
        _ = try parseValue(valueStart, i)
        if i < end {
            i += 1
            let tsStart = i
            while i < end, bytes[i] != 0x20 { i += 1 }
            _ = try parseSeconds(tsStart, i)
            guard i == end else { throw error("unexpected \(describe(i, end)) after the exemplar timestamp", at: i) }
        }
    }

    // MARK: Labels

    /// Moves `i` from `{` past the matching `}`, checking the syntax.
    private func skipLabels(_ i: inout Int, _ end: Int) throws(TSDBError) {
        i += 1
        var first = true
        while true {
            if format == .prometheusText { skipBlanks(&i, end) }
            guard i < end else { throw error("expected } before the end of the line", at: i) }
            if bytes[i] == UInt8(ascii: "}") {
                if format == .openMetrics && !first && bytes[i - 1] == UInt8(ascii: ",") {
                    throw error("expected a label name after ,", at: i)
                }
                i += 1
                return
            }
            if !first {
                guard bytes[i] == UInt8(ascii: ",") else { throw error("expected , or } in the label set, found \(describe(i, end))", at: i) }
                i += 1
                if format == .prometheusText { skipBlanks(&i, end) }
                if i < end, bytes[i] == UInt8(ascii: "}"), format == .prometheusText { i += 1; return }
            }
            first = false
            guard i < end, isNameStart(bytes[i]) else { throw error("expected a label name, found \(describe(i, end))", at: i) }
            while i < end, isNameChar(bytes[i]) { i += 1 }
            if format == .prometheusText { skipBlanks(&i, end) }
            guard i < end, bytes[i] == UInt8(ascii: "=") else { throw error("expected = after a label name, found \(describe(i, end))", at: i) }
            i += 1
            if format == .prometheusText { skipBlanks(&i, end) }
            guard i < end, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a quoted label value, found \(describe(i, end))", at: i) }
            i += 1
            while true {
                guard i < end else { throw error("label value is not closed by \"", at: i) }
                if bytes[i] == UInt8(ascii: "\\") { i += 2; continue }
                if bytes[i] == UInt8(ascii: "\"") { i += 1; break }
                i += 1
            }
            if i > end { throw error("label value is not closed by \"", at: end) }
        }
    }

    /// The labels of a sample's series text, validated: names valid and unique, values
    /// valid UTF-8 (unescaped), empty values dropped.
    package func labels(of sample: TextSample) throws(TSDBError) -> Labels {
        var list: [Label] = []
        var i = sample.series.lowerBound
        let end = sample.series.upperBound
        while i < end, isNameChar(bytes[i]) || bytes[i] == UInt8(ascii: ":") { i += 1 }
        list.append(Label(name: "__name__", value: text(sample.series.lowerBound, i)))
        while i < end {
            let c = bytes[i]
            if c == UInt8(ascii: "{") || c == UInt8(ascii: ",") || c == 0x20 || c == 0x09 || c == UInt8(ascii: "}") { i += 1; continue }
            let nameStart = i
            while i < end, isNameChar(bytes[i]) { i += 1 }
            let name = text(nameStart, i)
            while i < end, bytes[i] != UInt8(ascii: "\"") { i += 1 }
            i += 1
            let valueStart = i
            var escaped = false
            while i < end, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { escaped = true; i += 1 }
                i += 1
            }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<min(i, end)])
            guard var value = String(validating: raw, as: UTF8.self) else {
                throw TSDBError(.invalidArgument, "line \(sample.line): invalid UTF-8 label value",
                                location: .init(file: file, offset: valueStart))
            }
            if escaped { value = Self.unescape(value) }
            list.append(Label(name: name, value: value))
            i += 1
        }
        do {
            return try Labels(validating: list)
        } catch {
            throw TSDBError(.invalidArgument, "line \(sample.line): \(error.message)", location: .init(file: file, offset: sample.series.lowerBound))
        }
    }

    /// Prometheus's `lvalReplacer`: `\\` → `\`, `\"` → `"`, `\n` → newline; other
    /// backslashes stay.
    static func unescape(_ s: String) -> String {
        var out = ""
        var it = s.unicodeScalars.makeIterator()
        while let c = it.next() {
            guard c == "\\" else { out.unicodeScalars.append(c); continue }
            guard let n = it.next() else { out.unicodeScalars.append(c); break }
            switch n {
            case "\\": out += "\\"
            case "\"": out += "\""
            case "n": out += "\n"
            default: out.unicodeScalars.append(c); out.unicodeScalars.append(n)
            }
        }
        return out
    }

    // MARK: Numbers

    private func parseValue(_ start: Int, _ end: Int) throws(TSDBError) -> Double {
        guard let v = Self.parseGoFloat(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) else {
            throw error("invalid value \(describe(start, end))", at: start)
        }
        return v
    }

    /// OpenMetrics timestamps: seconds as a float, to `Int64(seconds * 1000)` (truncating).
    private func parseSeconds(_ start: Int, _ end: Int) throws(TSDBError) -> Int64 {
        guard let s = Self.parseGoFloat(UnsafeRawBufferPointer(rebasing: bytes[start..<end])), s.isFinite else {
            throw error("invalid timestamp \(describe(start, end))", at: start)
        }
        let ms = s * 1000
        guard ms > -9.2e18, ms < 9.2e18 else { throw error("timestamp \(describe(start, end)) is out of range", at: start) }
        return Int64(ms)
    }

    /// Go's `strconv.ParseFloat(s, 64)` as Prometheus calls it: decimal with optional sign,
    /// point and exponent, or `inf`/`infinity` (signed) and `nan`, any case; no hex, no
    /// underscores; nil for a syntax error or a value beyond the double range.
    /// The same, of a string's UTF-8: label values such
    /// as `le` and `quantile`, pushed values.
    package static func parseGoFloat(_ s: String) -> Double? {
        var s = s
        return s.withUTF8 { parseGoFloat(UnsafeRawBufferPointer($0)) }
    }

    package static func parseGoFloat(_ s: UnsafeRawBufferPointer) -> Double? {
        let n = s.count
        guard n > 0, n < 512 else { return nil }
        var i = 0
        var negative = false
        if s[0] == UInt8(ascii: "+") || s[0] == UInt8(ascii: "-") { negative = s[0] == UInt8(ascii: "-"); i = 1 }
        func lower(_ b: UInt8) -> UInt8 { b | 0x20 }
        let rest = n - i
        if rest == 3 || rest == 8, lower(s[i]) == UInt8(ascii: "i") {
            let word = Array("infinity".utf8)
            for k in 0..<rest where lower(s[i + k]) != word[k] { return nil }
            return negative ? -.infinity : .infinity
        }
        if i == 0, n == 3, lower(s[0]) == UInt8(ascii: "n"), lower(s[1]) == UInt8(ascii: "a"), lower(s[2]) == UInt8(ascii: "n") {
            return goNaN
        }
        var digits = 0
        var sawPoint = false
        var j = i
        while j < n {
            let c = s[j]
            if c >= 0x30 && c <= 0x39 { digits += 1 } else if c == UInt8(ascii: "."), !sawPoint { sawPoint = true } else { break }
            j += 1
        }
        guard digits > 0 else { return nil }
        if j < n, lower(s[j]) == UInt8(ascii: "e") {
            j += 1
            if j < n, s[j] == UInt8(ascii: "+") || s[j] == UInt8(ascii: "-") { j += 1 }
            let expStart = j
            while j < n, s[j] >= 0x30, s[j] <= 0x39 { j += 1 }
            guard j > expStart else { return nil }
        }
        guard j == n else { return nil }
        // strtod is correctly rounded on glibc, as Go's parser is.
        let v: Double = withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            for k in 0..<n { buf[k] = CChar(bitPattern: s[k]) }
            buf[n] = 0
            return strtod(buf.baseAddress!, nil)
        }
        return v.isInfinite ? nil : v
    }

    // MARK: Helpers

    private func separator(_ i: inout Int, _ end: Int, what: String) throws(TSDBError) {
        if format == .openMetrics {
            guard i < end, bytes[i] == 0x20 else { throw error("expected a space and a \(what), found \(describe(i, end))", at: i) }
            i += 1
        } else {
            let before = i
            skipBlanks(&i, end)
            let previous = before > 0 ? bytes[before - 1] : 0
            guard i > before || previous == 0x20 || previous == 0x09 || previous == UInt8(ascii: "}") else {
                throw error("expected a space and a \(what), found \(describe(i, end))", at: i)
            }
        }
        guard i < end else { throw error("expected a \(what) before the end of the line", at: i) }
    }

    private func skipBlanks(_ i: inout Int, _ end: Int) {
        while i < end, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
    }

    private func isNameStart(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b == 0x5f
    }

    private func isNameChar(_ b: UInt8) -> Bool { isNameStart(b) || (b >= 0x30 && b <= 0x39) }

    private func text(_ start: Int, _ end: Int) -> String {
        guard start < end, start >= 0, end <= bytes.count else { return "" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    private func describe(_ i: Int, _ end: Int) -> String {
        i >= end ? "the end of the line" : goQuote(String(text(i, end).prefix(40)))
    }
}
