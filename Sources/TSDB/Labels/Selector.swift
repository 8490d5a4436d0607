/// Parses PromQL vector selectors such as `http_requests_total{job="api", code=~"5.."}` into
/// matchers. The CLI, the tests and the benchmarks all use it.
///
/// Grammar: an optional metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`, then optionally `{` matchers
/// separated by commas (a trailing comma is allowed) `}`. Each matcher is a label name, one
/// of `= != =~ !~`, and a string in double quotes, single quotes (Go escapes) or backquotes
/// (raw). As in PromQL, at least one matcher must not match the empty string.
/// Errors name the 1-based column.
public enum Selector {
    public static func parse(_ text: String) throws(TSDBError) -> [Matcher] {
        var p = SelectorParser(text)
        return try p.parse()
    }
}

/// Walks the text by Unicode scalar, as Go's lexer walks runes: by `Character`, a quote
/// followed by a combining mark would be one grapheme and no longer a quote.
private struct SelectorParser {
    let chars: [Unicode.Scalar]
    let text: String
    var i = 0

    init(_ text: String) {
        self.text = text
        chars = Array(text.unicodeScalars)
    }

    func error(_ message: String, at position: Int? = nil) -> TSDBError {
        let column = (position ?? i) + 1
        // A long selector is quoted around the column only, so the message stays readable.
        let shown: String
        if chars.count <= 256 {
            shown = goQuote(text)
        } else {
            let from = Swift.max(0, column - 1 - 100), to = Swift.min(chars.count, column - 1 + 100)
            shown = "\(goQuote(String(String.UnicodeScalarView(chars[from..<to])))) (characters \(from + 1)-\(to) of \(chars.count))"
        }
        return TSDBError(.invalidSelector, "parse error at column \(column) of \(shown): \(message)",
                         location: .init(offset: column))
    }

    var current: Unicode.Scalar? { i < chars.count ? chars[i] : nil }

    mutating func skipSpace() {
        while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1 }
    }

    static func isNameStart(_ c: Unicode.Scalar, colon: Bool) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || (colon && c == ":")
    }

    static func isNameChar(_ c: Unicode.Scalar, colon: Bool) -> Bool {
        isNameStart(c, colon: colon) || ("0"..."9").contains(c)
    }

    mutating func name(colon: Bool) -> String? {
        guard let c = current, Self.isNameStart(c, colon: colon) else { return nil }
        let start = i
        while let c = current, Self.isNameChar(c, colon: colon) { i += 1 }
        return Self.string(chars[start..<i])
    }

    mutating func parse() throws(TSDBError) -> [Matcher] {
        var matchers: [Matcher] = []
        skipSpace()
        let nameStart = i
        let metric = name(colon: true)
        if let metric { matchers.append(.equal("__name__", metric)) }
        skipSpace()
        if current == "{" {
            i += 1
            try parseMatchers(into: &matchers, metricNameSet: metric != nil)
        } else if metric == nil {
            throw error(current == nil ? "empty selector" : "expected a metric name or '{', found \(quoted(current))")
        }
        skipSpace()
        if let c = current { throw error("unexpected \(quoted(c)) after the selector") }
        guard matchers.contains(where: { !$0.matches("") }) else {
            throw error("vector selector must contain at least one non-empty matcher", at: nameStart)
        }
        return matchers
    }

    func quoted(_ c: Unicode.Scalar?) -> String {
        guard let c else { return "end of input" }
        return goQuote(String(Character(c)))
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars)
        return s
    }

    mutating func parseMatchers(into matchers: inout [Matcher], metricNameSet: Bool) throws(TSDBError) {
        while true {
            skipSpace()
            if current == "}" { i += 1; return }
            let nameAt = i
            guard let label = name(colon: false) else {
                throw error("expected a label name or '}', found \(quoted(current))")
            }
            if label == "__name__" && metricNameSet {
                throw error("metric name must not be set twice", at: nameAt)
            }
            skipSpace()
            let opAt = i
            let kind: Matcher.Kind
            switch (current, i + 1 < chars.count ? chars[i + 1] : nil) {
            case ("=", "~"): kind = .regexMatch; i += 2
            case ("!", "="): kind = .notEqual; i += 2
            case ("!", "~"): kind = .regexNoMatch; i += 2
            case ("=", _): kind = .equal; i += 1
            default: throw error("expected one of = != =~ !~ after \(label), found \(quoted(current))", at: opAt)
            }
            skipSpace()
            let valueAt = i
            let value = try string()
            do {
                matchers.append(try Matcher(kind, label, value))
            } catch {
                throw self.error(error.message, at: valueAt)
            }
            skipSpace()
            switch current {
            case ",": i += 1
            case "}": i += 1; return
            default: throw error("expected ',' or '}' after a matcher, found \(quoted(current))")
            }
        }
    }

    mutating func string() throws(TSDBError) -> String {
        guard let q = current, q == "\"" || q == "'" || q == "`" else {
            throw error("expected a quoted string, found \(quoted(current))")
        }
        let start = i
        i += 1
        var out = ""
        while true {
            guard let c = current else { throw error("unterminated string", at: start) }
            i += 1
            if c == q { return out }
            if q == "`" || c != "\\" {
                if c == "\n" && q != "`" { throw error("newline in string", at: i - 1) }
                out.unicodeScalars.append(c)
                continue
            }
            try escape(into: &out, quote: q)
        }
    }

    /// Go's string escapes: \a \b \f \n \r \t \v \\ \' \" \xHH \ooo \uHHHH \UHHHHHHHH.
    mutating func escape(into out: inout String, quote: Unicode.Scalar) throws(TSDBError) {
        let at = i - 1
        guard let e = current else { throw error("unterminated escape", at: at) }
        i += 1
        switch e {
        case "a": out.append("\u{07}")
        case "b": out.append("\u{08}")
        case "f": out.append("\u{0C}")
        case "n": out.append("\n")
        case "r": out.append("\r")
        case "t": out.append("\t")
        case "v": out.append("\u{0B}")
        case "\\": out.append("\\")
        case quote: out.unicodeScalars.append(quote)
        case "x", "u", "U":
            let n = e == "x" ? 2 : (e == "u" ? 4 : 8)
            guard i + n <= chars.count, let v = Hex.value(of: Self.string(chars[i..<(i + n)]).utf8) else {
                throw error("invalid \\\(e) escape", at: at)
            }
            i += n
            if e == "x" {
                // Go: a byte. Bytes ≥ 0x80 would make invalid UTF-8 on their own; reject them.
                guard v < 0x80 else { throw error("\\x escape above 0x7f is not valid UTF-8 on its own", at: at) }
            }
            guard let scalar = Unicode.Scalar(v) else { throw error("escape is not a valid code point", at: at) }
            out.unicodeScalars.append(scalar)
        case "0"..."7":
            guard i + 2 <= chars.count, chars[i..<(i + 2)].allSatisfy({ ("0"..."7").contains($0) }),
                  let v = UInt32(Self.string([e] + chars[i..<(i + 2)]), radix: 8), v < 0x80,
                  let scalar = Unicode.Scalar(v)
            else { throw error("invalid octal escape", at: at) }
            i += 2
            out.unicodeScalars.append(scalar)
        default:
            throw error("unknown escape sequence \\\(e)", at: at)
        }
    }
}
