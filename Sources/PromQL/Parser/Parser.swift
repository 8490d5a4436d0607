import TSDB

/// Parses PromQL as Prometheus 2.42 does. Stateless; callable from any thread.
///
/// Limits: nesting deeper than ``maximumDepth`` levels is an error (Prometheus has none).
/// Not yet done: the type checker (checkAST) and full parity of syntax-error messages.
public enum PromQLParser {
    /// The deepest nesting of sub-expressions accepted: parentheses, calls, unary operators and
    /// chains of binary operators all count (`a + b + c` nests 2 deep). Debug builds on a test
    /// thread overflow the stack between 500 and 1000 levels; 256 leaves room for the callers.
    public static let maximumDepth = 256

    public static func parse(_ query: String) throws(PromQLParseError) -> Expr {
        try parse(utf8: Array(query.utf8))
    }

    public static func parse(utf8 query: [UInt8]) throws(PromQLParseError) -> Expr {
        var p = Parser(lexer: Lexer(query))
        return try p.parseTop()
    }
}

struct Parser {
    var lexer: Lexer
    var lookahead: Token?
    var depth = 0
    var inAggregation = 0
    var firstTypeError: PromQLParseError?

    init(lexer: Lexer) { self.lexer = lexer }

    mutating func peek() throws(PromQLParseError) -> Token {
        if let t = lookahead { return t }
        let t: Token
        if let d = lexer.pendingDuration { lexer.pendingDuration = nil; t = d } else { t = try lexer.nextToken() }
        lookahead = t
        return t
    }

    mutating func take() throws(PromQLParseError) -> Token {
        let t = try peek()
        lookahead = nil
        return t
    }

    func error(_ message: String, at start: Int) -> PromQLParseError {
        PromQLParseError(message: message, start: start, end: start, query: lexer.input)
    }

    static func describe(_ t: Token) -> String {
        switch t.kind {
        case .eof: return "end of input"
        case .identifier: return "identifier \(goQuote(t.text))"
        case .metricIdentifier: return "metric identifier \(goQuote(t.text))"
        case .number: return "number " + truncated(t.text)
        case .string: return "string " + truncated(t.text)
        case .duration: return "duration " + truncated(t.text)
        case .keyword: return "<\(t.text)>"
        case .aggregator: return "<aggr:\(t.text)>"
        case .add, .sub, .mul, .div, .mod, .pow, .equal, .notEqual, .lessEqual, .less, .greaterEqual, .greater,
             .regexMatch, .regexNoMatch, .and, .or, .unless, .atan2, .at:
            return "<op:\(t.text)>"
        default: return goQuote(t.text)
        }
    }

    static func truncated(_ s: String) -> String {
        s.unicodeScalars.count > 10 ? goQuote(String(String.UnicodeScalarView(s.unicodeScalars.prefix(10)))) + "..." : goQuote(s)
    }

    func unexpected(_ t: Token, _ context: String = "", _ expected: String = "") -> PromQLParseError {
        var m = "unexpected " + Self.describe(t)
        let ctx = context.isEmpty && inAggregation > 0 ? "aggregation" : context
        if !ctx.isEmpty { m += " in " + ctx }
        if !expected.isEmpty { m += ", expected " + expected }
        return error(m, at: t.position)
    }

    mutating func parseTop() throws(PromQLParseError) -> Expr {
        if try peek().kind == .eof { throw error("no expression found in input", at: 0) }
        let e = try parseExpr(minPrecedence: 1)
        let t = try peek()
        guard t.kind == .eof else { throw unexpected(t) }
        if let firstTypeError { throw firstTypeError }
        return e
    }

    static func binaryOperator(_ k: TokenKind) -> BinaryOperator? {
        switch k {
        case .or: .or
        case .and: .and
        case .unless: .unless
        case .equal: .equal
        case .notEqual: .notEqual
        case .lessEqual: .lessEqual
        case .less: .less
        case .greaterEqual: .greaterEqual
        case .greater: .greater
        case .add: .add
        case .sub: .sub
        case .mul: .mul
        case .div: .div
        case .mod: .mod
        case .atan2: .atan2
        case .pow: .pow
        default: nil
        }
    }

    mutating func parseExpr(minPrecedence: Int) throws(PromQLParseError) -> Expr {
        depth += 1
        defer { depth -= 1 }
        if depth > PromQLParser.maximumDepth {
            throw error("expression nests deeper than \(PromQLParser.maximumDepth) levels", at: try peek().position)
        }
        let lhsStart = try peek().position
        var lhs = try parseUnary()
        var chain = 0
        while let op = Self.binaryOperator(try peek().kind), op.precedence >= minPrecedence {
            let opToken = try take()
            chain += 1
            if depth + chain > PromQLParser.maximumDepth {
                throw error("expression nests deeper than \(PromQLParser.maximumDepth) levels", at: opToken.position)
            }
            var matching = VectorMatching()
            var returnBool = false
            if try peek().kind == .keyword("bool") { _ = try take(); returnBool = true }
            let k = try peek().kind
            if k == .keyword("on") || k == .keyword("ignoring") {
                _ = try take()
                matching.on = k == .keyword("on")
                matching.matchingLabels = try parseGroupingLabels()
                let g = try peek().kind
                if g == .keyword("group_left") || g == .keyword("group_right") {
                    _ = try take()
                    matching.cardinality = g == .keyword("group_left") ? .manyToOne : .oneToMany
                    if try peek().kind == .leftParen { matching.include = try parseGroupingLabels() }
                }
            }
            if op.isSetOperator && matching.cardinality == .oneToOne { matching.cardinality = .manyToMany }
            let rhsStart = try peek().position
            let rhs = try parseExpr(minPrecedence: op == .pow ? op.precedence : op.precedence + 1)
            checkBinary(op, lhs, lhsStart: lhsStart, rhs, rhsStart: rhsStart, matching: matching,
                        returnBool: returnBool, opPosition: opToken.position)
            lhs = .binary(op, lhs, rhs, matching: matching, returnBool: returnBool)
        }
        return lhs
    }

    mutating func parseUnary() throws(PromQLParseError) -> Expr {
        let t = try peek()
        if t.kind == .add || t.kind == .sub {
            _ = try take()
            let operand = try parseExpr(minPrecedence: 6)
            if case .number(let v) = operand { return .number(t.kind == .sub ? -v : v) }
            let ot = Self.type(of: operand)
            if ot != .scalar && ot != .vector {
                typeError("unary expression only allowed on expressions of type scalar or instant vector, got \(goQuote(ot.documentedName))", at: t.position)
            }
            return .unary(negative: t.kind == .sub, operand)
        }
        return try parsePostfix(try parsePrimary(), start: t.position)
    }

    mutating func parsePostfix(_ primary: Expr, start: Int) throws(PromQLParseError) -> Expr {
        var e = primary
        while true {
            let t = try peek()
            switch t.kind {
            case .leftBracket:
                _ = try take()
                let d = try take()
                guard d.kind == .duration else { throw unexpected(d, "subquery selector", "duration") }
                let range = try duration(d)
                let n = try take()
                if n.kind == .rightBracket {
                    guard case let .vectorSelector(_, _, offset, at) = e else {
                        throw error("ranges only allowed for vector selectors", at: t.position)
                    }
                    if offset != 0 { throw error("no offset modifiers allowed before range", at: t.position) }
                    if case .timestamp? = at { throw error("no @ modifiers allowed before range", at: t.position) }
                    e = .matrixSelector(e, range: range)
                } else if n.kind == .colon {
                    var step: Int64 = 0
                    var s = try take()
                    if s.kind == .duration {
                        step = try duration(s)
                        s = try take()
                        guard s.kind == .rightBracket else { throw unexpected(s, "subquery selector", "\"]\"") }
                    } else if s.kind != .rightBracket {
                        throw unexpected(s, "subquery selector", "duration or \"]\"")
                    }
                    if Self.type(of: e) != .vector {
                        typeError("subquery is only allowed on instant vector, got \(Self.type(of: e).rawValue) instead", at: start)
                    }
                    e = .subquery(e, range: range, step: step, offset: 0, at: nil)
                } else {
                    throw unexpected(n, "subquery or range", "\":\" or \"]\"")
                }
            case .keyword("offset"):
                _ = try take()
                var d = try take()
                var sign: Int64 = 1
                if d.kind == .sub { sign = -1; d = try take() }
                guard d.kind == .duration else { throw unexpected(d, "offset", "duration") }
                let value = try duration(d) * sign
                e = try setOffset(e, value, at: start)
            case .at:
                _ = try take()
                var n = try take()
                var modifier: AtModifier
                if n.kind == .start || n.kind == .end {
                    let open = try take()
                    guard open.kind == .leftParen else { throw unexpected(open, "@", "timestamp") }
                    let close = try take()
                    guard close.kind == .rightParen else { throw unexpected(close, "@", "timestamp") }
                    modifier = n.kind == .start ? .start : .end
                } else {
                    var sign = 1.0
                    if n.kind == .add || n.kind == .sub { sign = n.kind == .sub ? -1 : 1; n = try take() }
                    guard n.kind == .number else { throw unexpected(n, "@", "timestamp") }
                    let ts = try number(n) * sign
                    if !ts.isFinite || ts >= 9.223372036854775807e18 || ts <= -9.223372036854775807e18 {
                        throw error("timestamp out of bounds for @ modifier: \(goFormatFixed(ts))", at: start)
                    }
                    let ms = (ts * 1000).rounded()
                    modifier = .timestamp(milliseconds: ms >= -9.223372036854775807e18 && ms < 9.223372036854775807e18 ? Int64(ms) : Int64.min)
                }
                e = try setAt(e, modifier, at: start)
            default:
                return e
            }
        }
    }

    mutating func setOffset(_ e: Expr, _ value: Int64, at position: Int) throws(PromQLParseError) -> Expr {
        switch e {
        case let .vectorSelector(name, matchers, offset, at):
            if offset != 0 { throw error("offset may not be set multiple times", at: position) }
            return .vectorSelector(name: name, matchers: matchers, offset: value, at: at)
        case let .matrixSelector(.vectorSelector(name, matchers, offset, at), range):
            if offset != 0 { throw error("offset may not be set multiple times", at: position) }
            return .matrixSelector(.vectorSelector(name: name, matchers: matchers, offset: value, at: at), range: range)
        case let .subquery(inner, range, step, offset, at):
            if offset != 0 { throw error("offset may not be set multiple times", at: position) }
            return .subquery(inner, range: range, step: step, offset: value, at: at)
        default:
            throw error("offset modifier must be preceded by an instant vector selector or range vector selector or a subquery", at: position)
        }
    }

    mutating func setAt(_ e: Expr, _ value: AtModifier, at position: Int) throws(PromQLParseError) -> Expr {
        let twice = "@ <timestamp> may not be set multiple times"
        switch e {
        case let .vectorSelector(name, matchers, offset, at):
            if at != nil { throw error(twice, at: position) }
            return .vectorSelector(name: name, matchers: matchers, offset: offset, at: value)
        case let .matrixSelector(.vectorSelector(name, matchers, offset, at), range):
            if at != nil { throw error(twice, at: position) }
            return .matrixSelector(.vectorSelector(name: name, matchers: matchers, offset: offset, at: value), range: range)
        case let .subquery(inner, range, step, offset, at):
            if at != nil { throw error(twice, at: position) }
            return .subquery(inner, range: range, step: step, offset: offset, at: value)
        default:
            throw error("@ modifier must be preceded by an instant vector selector or range vector selector or a subquery", at: position)
        }
    }

    func duration(_ t: Token) throws(PromQLParseError) -> Int64 {
        let d: Int64
        do { d = try PromQLDuration.parse(t.text) } catch { throw self.error(error.message, at: t.position) }
        if d == 0 { throw self.error("duration must be greater than 0", at: t.position) }
        return d
    }
}
