/// The kinds of PromQL tokens, as Prometheus 2.42's lexer produces them.
enum TokenKind: Hashable, Sendable {
    case eof, identifier, metricIdentifier, number, string, duration
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket, comma, colon, assign
    case add, sub, mul, div, mod, pow, equal, notEqual, lessEqual, less, greaterEqual, greater
    case regexMatch, regexNoMatch, and, or, unless, atan2, at
    case aggregator(String), keyword(String), start, end
}

/// A token: its kind, its byte offset and its source text.
struct Token: Sendable {
    var kind: TokenKind
    var position: Int
    var text: String
    var end: Int { position + text.utf8.count }
}

/// Scans UTF-8 bytes into tokens, one at a time, as Prometheus's state-machine lexer does
/// (same token boundaries, same error messages and error positions). Comments are skipped.
struct Lexer {
    let input: [UInt8]
    var pos = 0
    var start = 0
    var parenDepth = 0
    var braceOpen = false
    var bracketOpen = false
    var gotColon = false

    static let keywords: [String: TokenKind] = {
        var k: [String: TokenKind] = ["and": .and, "or": .or, "unless": .unless, "atan2": .atan2,
                                      "start": .start, "end": .end, "inf": .number, "nan": .number]
        for a in ["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
                  "count_values", "quantile"] { k[a] = .aggregator(a) }
        for w in ["offset", "by", "without", "on", "ignoring", "group_left", "group_right", "bool"] {
            k[w] = .keyword(w)
        }
        return k
    }()

    init(_ input: [UInt8]) { self.input = input }

    /// Go's utf8.DecodeRune: (-1, 0) at the end, (0xFFFD, 1) for an invalid sequence.
    func decode(at i: Int) -> (Int32, Int) {
        guard i < input.count else { return (-1, 0) }
        let b0 = input[i]
        if b0 < 0x80 { return (Int32(b0), 1) }
        let need: Int, minimum: UInt32
        var v: UInt32
        switch b0 {
        case 0xC2...0xDF: need = 1; v = UInt32(b0 & 0x1F); minimum = 0x80
        case 0xE0...0xEF: need = 2; v = UInt32(b0 & 0x0F); minimum = 0x800
        case 0xF0...0xF4: need = 3; v = UInt32(b0 & 0x07); minimum = 0x10000
        default: return (0xFFFD, 1)
        }
        for k in 1...need {
            guard i + k < input.count, input[i + k] & 0xC0 == 0x80 else { return (0xFFFD, 1) }
            v = v << 6 | UInt32(input[i + k] & 0x3F)
        }
        if v < minimum || v > 0x10FFFF || (0xD800...0xDFFF).contains(v) { return (0xFFFD, 1) }
        return (Int32(v), need + 1)
    }

    var lastWidth = 0
    mutating func next() -> Int32 {
        let (r, w) = decode(at: pos)
        lastWidth = w
        pos += w
        return r
    }
    mutating func backup() { pos -= lastWidth }
    mutating func peek() -> Int32 { let r = next(); backup(); return r }
    mutating func accept(_ valid: String) -> Bool {
        let r = next()
        if r >= 0, valid.unicodeScalars.contains(where: { Int32($0.value) == r }) { return true }
        backup()
        return false
    }
    mutating func acceptRun(_ valid: String) { while accept(valid) {} }

    static func isSpace(_ r: Int32) -> Bool { r == 32 || r == 9 || r == 10 || r == 13 }
    static func isDigit(_ r: Int32) -> Bool { r >= 48 && r <= 57 }
    static func isAlpha(_ r: Int32) -> Bool { r == 95 || (r >= 97 && r <= 122) || (r >= 65 && r <= 90) }
    static func isAlphaNumeric(_ r: Int32) -> Bool { isAlpha(r) || isDigit(r) }

    func text(_ from: Int, _ to: Int) -> String { String(decoding: input[from..<to], as: UTF8.self) }

    func error(_ message: String) -> PromQLParseError {
        PromQLParseError(message: message, start: start, end: input.count, query: input)
    }

    mutating func emit(_ kind: TokenKind) -> Token {
        let t = Token(kind: kind, position: start, text: text(start, pos))
        start = pos
        return t
    }

    mutating func skipCommentsAndSpace() {
        while true {
            if pos < input.count && input[pos] == 35 {  // '#'
                while pos < input.count && input[pos] != 10 && input[pos] != 13 { pos += 1 }
                start = pos
                continue
            }
            if pos < input.count && Self.isSpace(Int32(input[pos])) { pos += 1; start = pos; continue }
            return
        }
    }

    /// The next token; throws the lexer's error where Prometheus's lexer emits an error item.
    mutating func nextToken() throws(PromQLParseError) -> Token {
        skipCommentsAndSpace()
        if braceOpen { return try insideBraces() }
        let r = next()
        switch r {
        case -1:
            if parenDepth != 0 { throw error("unclosed left parenthesis") }
            if bracketOpen { throw error("unclosed left bracket") }
            return emit(.eof)
        case 44: return emit(.comma)
        case 42: return emit(.mul)
        case 47: return emit(.div)
        case 37: return emit(.mod)
        case 43: return emit(.add)
        case 45: return emit(.sub)
        case 94: return emit(.pow)
        case 64: return emit(.at)
        case 61:  // =
            let t = peek()
            if t == 61 { _ = next(); return emit(.equal) }
            if t == 126 { throw error("unexpected character after '=': \(goQuoteRune(t))") }
            return emit(.assign)
        case 33:  // !
            let t = next()
            if t == 61 { return emit(.notEqual) }
            throw error("unexpected character after '!': \(goQuoteRune(t))")
        case 60:
            if peek() == 61 { _ = next(); return emit(.lessEqual) }
            return emit(.less)
        case 62:
            if peek() == 61 { _ = next(); return emit(.greaterEqual) }
            return emit(.greater)
        case 34, 39: return try string(quote: r)
        case 96: return try rawString()
        case 40:
            parenDepth += 1
            return emit(.leftParen)
        case 41:
            let t = emit(.rightParen)
            parenDepth -= 1
            if parenDepth < 0 { throw error("unexpected right parenthesis ')'") }
            return t
        case 123:
            braceOpen = true
            return emit(.leftBrace)
        case 91:
            if bracketOpen { throw error("unexpected left bracket '['") }
            gotColon = false
            let t = emit(.leftBracket)
            while Self.isSpace(peek()) { _ = next() }
            start = pos
            bracketOpen = true
            try pendingDuration = lexDuration()
            return t
        case 93:
            if !bracketOpen { throw error("unexpected right bracket ']'") }
            bracketOpen = false
            return emit(.rightBracket)
        default:
            if Self.isDigit(r) || (r == 46 && Self.isDigit(peek())) {
                backup()
                return try numberOrDuration()
            }
            if Self.isAlpha(r) || r == 58 {
                if !bracketOpen { backup(); return keywordOrIdentifier() }
                if gotColon { throw error("unexpected colon \(goQuoteRune(r))") }
                gotColon = true
                return emit(.colon)
            }
            throw error("unexpected character: \(goQuoteRune(r))")
        }
    }

    /// The duration right after `[`, lexed eagerly as Prometheus does.
    var pendingDuration: Token?

    mutating func insideBraces() throws(PromQLParseError) -> Token {
        let r = next()
        switch r {
        case -1: throw error("unexpected end of input inside braces")
        case 44: return emit(.comma)
        case 34, 39: return try string(quote: r)
        case 96: return try rawString()
        case 61:
            if next() == 126 { return emit(.regexMatch) }
            backup()
            return emit(.assign)
        case 33:
            let n = next()
            if n == 126 { return emit(.regexNoMatch) }
            if n == 61 { return emit(.notEqual) }
            throw error("unexpected character after '!' inside braces: \(goQuoteRune(n))")
        case 123: throw error("unexpected left brace '{'")
        case 125:
            braceOpen = false
            return emit(.rightBrace)
        default:
            if Self.isAlpha(r) {
                while Self.isAlphaNumeric(next()) {}
                backup()
                return emit(.identifier)
            }
            throw error("unexpected character inside braces: \(goQuoteRune(r))")
        }
    }

    mutating func string(quote: Int32) throws(PromQLParseError) -> Token {
        while true {
            let r = next()
            switch r {
            case 92: try escape(quote: quote)
            case 0xFFFD: throw error("invalid UTF-8 rune")
            case -1, 10: throw error("unterminated quoted string")
            case quote: return emit(.string)
            default: break
            }
        }
    }

    mutating func rawString() throws(PromQLParseError) -> Token {
        while true {
            switch next() {
            case 0xFFFD: throw error("invalid UTF-8 rune")
            case -1: throw error("unterminated raw string")
            case 96: return emit(.string)
            default: break
            }
        }
    }

    mutating func escape(quote: Int32) throws(PromQLParseError) {
        var ch = next()
        var n = 0, base: UInt32 = 0, maximum: UInt32 = 0
        switch ch {
        case 97, 98, 102, 110, 114, 116, 118, 92, quote: return
        case 48...55: n = 3; base = 8; maximum = 255
        case 120: ch = next(); n = 2; base = 16; maximum = 255
        case 117: ch = next(); n = 4; base = 16; maximum = 0x10FFFF
        case 85: ch = next(); n = 8; base = 16; maximum = 0x10FFFF
        case -1: throw error("escape sequence not terminated")
        default: throw error("unknown escape sequence \(goUnicodeU(ch))")
        }
        var x: UInt32 = 0
        while n > 0 {
            let d: UInt32 = switch ch {
            case 48...57: UInt32(ch - 48)
            case 97...102: UInt32(ch - 87)
            case 65...70: UInt32(ch - 55)
            default: 16
            }
            if d >= base {
                if ch == -1 { throw error("escape sequence not terminated") }
                throw error("illegal character \(goUnicodeU(ch)) in escape sequence")
            }
            x = x &* base &+ d
            n -= 1
            if n > 0 { ch = next() }
        }
        if x > maximum || (0xD800..<0xE000).contains(x) {
            throw error("escape sequence is an invalid Unicode code point")
        }
    }

    mutating func scanNumber() -> Bool {
        var digits = "0123456789"
        if accept("0") && accept("xX") { digits = "0123456789abcdefABCDEF" }
        acceptRun(digits)
        if accept(".") { acceptRun(digits) }
        if accept("eE") { _ = accept("+-"); acceptRun("0123456789") }
        return !Self.isAlphaNumeric(peek())
    }

    mutating func acceptRemainingDuration() -> Bool {
        if !accept("smhdwy") { return false }
        _ = accept("s")
        while accept("0123456789") {
            acceptRun("0123456789")
            if !accept("smhdw") { return false }
            _ = accept("s")
        }
        return !Self.isAlphaNumeric(next())
    }

    mutating func numberOrDuration() throws(PromQLParseError) -> Token {
        if scanNumber() { return emit(.number) }
        if acceptRemainingDuration() { backup(); return emit(.duration) }
        throw error("bad number or duration syntax: \(goQuote(text(start, pos)))")
    }

    mutating func lexDuration() throws(PromQLParseError) -> Token {
        if scanNumber() { throw error("missing unit character in duration") }
        if !acceptRemainingDuration() { throw error("bad duration syntax: \(goQuote(text(start, pos)))") }
        backup()
        return emit(.duration)
    }

    mutating func keywordOrIdentifier() -> Token {
        while true {
            let r = next()
            if Self.isAlphaNumeric(r) || r == 58 { continue }
            backup()
            let word = text(start, pos)
            if let kind = Self.keywords[word.lowercased()] { return emit(kind) }
            return emit(word.contains(":") ? .metricIdentifier : .identifier)
        }
    }
}
