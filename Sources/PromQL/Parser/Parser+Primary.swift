import TSDB

extension Parser {
    static let metricNameKinds: Set<TokenKind> = [.identifier, .metricIdentifier, .and, .or, .unless, .start, .end,
                                                  .keyword("by"), .keyword("without"), .keyword("offset")]

    static func isLabelKind(_ k: TokenKind) -> Bool {
        switch k {
        case .identifier, .metricIdentifier, .aggregator, .and, .or, .unless, .atan2, .start, .end: return true
        case .keyword: return true
        default: return false
        }
    }

    mutating func parsePrimary() throws(PromQLParseError) -> Expr {
        let t = try take()
        switch t.kind {
        case .number: return .number(try number(t))
        case .string: return .string(unquote(t.text))
        case .leftParen:
            let inner = try parseExpr(minPrecedence: 1)
            let close = try take()
            guard close.kind == .rightParen else { throw unexpected(close) }
            return .paren(inner)
        case .leftBrace:
            return try selector(name: "", matchers: try labelMatchers(), at: t.position)
        case .aggregator(let op):
            let n = try peek().kind
            if n == .leftParen || n == .keyword("by") || n == .keyword("without") {
                return try aggregate(op, at: t.position)
            }
            return try selectorAfterName(t.text, at: t.position)
        case .identifier:
            if try peek().kind == .leftParen {
                let (args, starts) = try callBody()
                guard let f = PromQLFunction.all[t.text] else {
                    throw error("unknown function with name \(goQuote(t.text))", at: t.position)
                }
                checkCall(f, args, starts: starts, at: t.position)
                return .call(f, args)
            }
            return try selectorAfterName(t.text, at: t.position)
        default:
            if Self.metricNameKinds.contains(t.kind) { return try selectorAfterName(t.text, at: t.position) }
            throw unexpected(t)
        }
    }

    mutating func selectorAfterName(_ name: String, at position: Int) throws(PromQLParseError) -> Expr {
        var matchers: [Matcher] = []
        if try peek().kind == .leftBrace { _ = try take(); matchers = try labelMatchers() }
        for m in matchers where m.name == "__name__" {
            throw error("metric name must not be set twice: \(goQuote(name)) or \(goQuote(m.value))", at: position)
        }
        return try selector(name: name, matchers: matchers + [.equal("__name__", name)], at: position)
    }

    func selector(name: String, matchers: [Matcher], at position: Int) throws(PromQLParseError) -> Expr {
        if name.isEmpty && !matchers.contains(where: { !$0.matches("") }) {
            throw error("vector selector must contain at least one non-empty matcher", at: position)
        }
        return .vectorSelector(name: name, matchers: matchers, offset: 0, at: nil)
    }

    /// After `{`.
    mutating func labelMatchers() throws(PromQLParseError) -> [Matcher] {
        var out: [Matcher] = []
        while true {
            let t = try take()
            if t.kind == .rightBrace { return out }
            guard t.kind == .identifier else { throw unexpected(t, "label matching", "identifier or \"}\"") }
            let op = try take()
            let kind: Matcher.Kind
            switch op.kind {
            case .assign: kind = .equal
            case .notEqual: kind = .notEqual
            case .regexMatch: kind = .regexMatch
            case .regexNoMatch: kind = .regexNoMatch
            default: throw unexpected(op, "label matching", "label matching operator")
            }
            let v = try take()
            guard v.kind == .string else { throw unexpected(v, "label matching", "string") }
            do { out.append(try Matcher(kind, t.text, unquote(v.text))) } catch {
                throw self.error(error.message, at: t.position)
            }
            let sep = try take()
            if sep.kind == .rightBrace { return out }
            guard sep.kind == .comma else { throw unexpected(sep, "label matching", "\",\" or \"}\"") }
        }
    }

    mutating func parseGroupingLabels() throws(PromQLParseError) -> [String] {
        let open = try take()
        guard open.kind == .leftParen else { throw unexpected(open, "grouping opts", "\"(\"") }
        var labels: [String] = []
        while true {
            let t = try take()
            if t.kind == .rightParen { return labels }
            guard Self.isLabelKind(t.kind) else { throw unexpected(t, "grouping opts", "label") }
            if t.kind == .metricIdentifier { throw unexpected(t, "grouping opts", "label") }
            labels.append(t.text)
            let sep = try take()
            if sep.kind == .rightParen { return labels }
            guard sep.kind == .comma else { throw unexpected(sep, "grouping opts", "\",\" or \")\"") }
        }
    }

    /// `(` args `)`, the `(` not yet taken.
    mutating func callBody() throws(PromQLParseError) -> ([Expr], [Int]) {
        _ = try take()
        var args: [Expr] = [], starts: [Int] = []
        if try peek().kind == .rightParen { _ = try take(); return (args, starts) }
        while true {
            starts.append(try peek().position)
            args.append(try parseExpr(minPrecedence: 1))
            let t = try take()
            if t.kind == .rightParen { return (args, starts) }
            guard t.kind == .comma else { throw unexpected(t) }
            if try peek().kind == .rightParen {
                throw error("trailing commas not allowed in function call args", at: t.position)
            }
        }
    }

    mutating func aggregate(_ op: String, at position: Int) throws(PromQLParseError) -> Expr {
        inAggregation += 1
        var grouping: [String] = [], without = false, hasModifier = false
        var k = try peek().kind
        if k == .keyword("by") || k == .keyword("without") {
            _ = try take()
            without = k == .keyword("without")
            grouping = try parseGroupingLabels()
            hasModifier = true
        }
        let open = try peek()
        guard open.kind == .leftParen else { throw unexpected(open) }
        let (args, starts) = try callBody()
        inAggregation -= 1
        k = try peek().kind
        if !hasModifier && (k == .keyword("by") || k == .keyword("without")) {
            _ = try take()
            without = k == .keyword("without")
            grouping = try parseGroupingLabels()
        }
        if args.isEmpty { throw error("no arguments for aggregate expression provided", at: position) }
        let withParameter = ["topk", "bottomk", "count_values", "quantile"].contains(op)
        let want = withParameter ? 2 : 1
        guard args.count == want else {
            throw error("wrong number of arguments for aggregate expression provided, expected \(want), got \(args.count)", at: position)
        }
        expectType(args[want - 1], at: starts[want - 1], .vector, "aggregation expression")
        if op == "topk" || op == "bottomk" || op == "quantile" { expectType(args[0], at: starts[0], .scalar, "aggregation parameter") }
        if op == "count_values" { expectType(args[0], at: starts[0], .string, "aggregation parameter") }
        return .aggregate(op: op, args[want - 1], parameter: withParameter ? args[0] : nil, grouping: grouping, without: without)
    }

    func number(_ t: Token) throws(PromQLParseError) -> Double {
        let s = t.text
        let lower = s.lowercased()
        if lower == "inf" { return .infinity }
        if lower == "nan" { return .nan }
        if lower.hasPrefix("0x") {
            if let v = Int64(lower.dropFirst(2), radix: 16), lower.count > 2 { return Double(v) }
        } else if s.allSatisfy({ $0.isASCII && $0.isNumber }) {
            if s.hasPrefix("0"), let v = Int64(s, radix: 8) { return Double(v) }
            if !s.hasPrefix("0"), let v = Int64(s) { return Double(v) }
        }
        let bad = "error parsing number: strconv.ParseFloat: parsing \(goQuote(s)): "
        let decimal = !lower.hasPrefix("0x") && Self.isDecimalFloat(Array(lower.utf8))
        guard decimal, let v = Double(s) else { throw error(bad + "invalid syntax", at: t.position) }
        if v.isInfinite { throw error(bad + "value out of range", at: t.position) }
        return v
    }

    /// `digits [. digits] [e [+-] digits]` with at least one mantissa digit, as ParseFloat takes it.
    static func isDecimalFloat(_ b: [UInt8]) -> Bool {
        var i = 0, mantissa = 0
        while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1; mantissa += 1 }
        if i < b.count, b[i] == 46 { i += 1; while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1; mantissa += 1 } }
        guard mantissa > 0 else { return false }
        if i < b.count, b[i] == 101 {
            i += 1
            if i < b.count, b[i] == 43 || b[i] == 45 { i += 1 }
            let e = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            guard i > e else { return false }
        }
        return i == b.count
    }

    /// Go's unquoting of a lexed string; bytes from \x or octal escapes are decoded as UTF-8
    /// (invalid sequences become U+FFFD).
    func unquote(_ s: String) -> String {
        var bytes = Array(s.utf8)
        guard bytes.count >= 2 else { return "" }
        let quote = bytes[0]
        bytes = Array(bytes[1..<(bytes.count - 1)])
        if quote == 96 { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        var i = 0
        func hexValue(_ b: UInt8) -> UInt32 {
            switch b { case 48...57: UInt32(b - 48); case 97...102: UInt32(b - 87); default: UInt32(b) - 55 }
        }
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            guard b == 92, i < bytes.count else { out.append(b); continue }
            let e = bytes[i]
            i += 1
            switch e {
            case 97: out.append(7)
            case 98: out.append(8)
            case 102: out.append(12)
            case 110: out.append(10)
            case 114: out.append(13)
            case 116: out.append(9)
            case 118: out.append(11)
            case 120, 117, 85:
                let n = e == 120 ? 2 : (e == 117 ? 4 : 8)
                var v: UInt32 = 0
                for _ in 0..<n where i < bytes.count { v = v << 4 | hexValue(bytes[i]); i += 1 }
                if e == 120 { out.append(UInt8(truncatingIfNeeded: v)) }
                else { out.append(contentsOf: Array(String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}").utf8)) }
            case 48...55:
                var v = UInt32(e - 48)
                for _ in 0..<2 where i < bytes.count { v = v << 3 | UInt32(bytes[i] &- 48); i += 1 }
                out.append(UInt8(truncatingIfNeeded: v))
            default: out.append(e)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
