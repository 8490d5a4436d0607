import Exposition
import Testing
import TSDBTestSupport
@testable import PromQL

@Suite(.heavy) struct LexerTests {
    func kinds(_ q: String) throws -> [TokenKind] {
        var lexer = Lexer(Array(q.utf8))
        var out: [TokenKind] = []
        while true {
            if let d = lexer.pendingDuration { out.append(d.kind); lexer.pendingDuration = nil; continue }
            let t = try lexer.nextToken()
            if t.kind == .eof { return out }
            out.append(t.kind)
        }
    }

    func lexError(_ q: String) -> String? {
        var lexer = Lexer(Array(q.utf8))
        do {
            while true {
                if lexer.pendingDuration != nil { lexer.pendingDuration = nil; continue }
                if try lexer.nextToken().kind == .eof { return nil }
            }
        } catch { return error.description }
    }

    @Test func tokens() throws {
        #expect(try kinds("rate(x[5m])") == [.identifier, .leftParen, .identifier, .leftBracket, .duration,
                                              .rightBracket, .rightParen])
        #expect(try kinds("a:b{c=~\"d\"} # comment") == [.metricIdentifier, .leftBrace, .identifier, .regexMatch,
                                                        .string, .rightBrace])
        #expect(try kinds("SUM by (on) Inf") == [.aggregator("sum"), .keyword("by"), .leftParen, .keyword("on"),
                                                 .rightParen, .number])
        #expect(try kinds("0x1f 1e3 .5 1h30m") == [.number, .number, .number, .duration])
    }

    @Test(arguments: [
        ("1)", "1:3: parse error: unexpected right parenthesis ')'"),
        ("(1", "1:3: parse error: unclosed left parenthesis"),
        ("a[5m:x]", "1:6: parse error: unexpected colon 'x'"),
        ("1y1y", "1:1: parse error: bad number or duration syntax: \"1y1\""),
        ("a[5y1y]", "1:3: parse error: bad duration syntax: \"5y1\""),
        ("x[]", "1:3: parse error: missing unit character in duration"),
        ("x[ x]", "1:4: parse error: bad duration syntax: \"\""),
        ("\"abc", "1:1: parse error: unterminated quoted string"),
        ("`abc", "1:1: parse error: unterminated raw string"),
        ("\"\\q\"", "1:1: parse error: unknown escape sequence U+0071 'q'"),
        ("\"\\ud800\"", "1:1: parse error: escape sequence is an invalid Unicode code point"),
        ("a =~ b", "1:3: parse error: unexpected character after '=': '~'"),
        ("{a=\"b\"", "1:7: parse error: unexpected end of input inside braces"),
        ("a\n  $", "2:3: parse error: unexpected character: '$'"),
    ])
    func errors(query: String, expected: String) {
        #expect(lexError(query) == expected)
    }

    @Test func invalidUTF8() {
        var lexer = Lexer([0x22, 0xFF, 0x22])
        #expect(throws: PromQLParseError.self) { _ = try lexer.nextToken() }
        #expect(lexError("\"\u{FFFD}\"") == "1:1: parse error: invalid UTF-8 rune")
    }

    @Test func pathological() {
        let big = String(repeating: "a + ", count: 250_000) + "a"
        #expect(lexError(big) == nil)
        #expect(lexError(String(repeating: "(", count: 10_000)) == "1:10001: parse error: unclosed left parenthesis")
    }
}

@Suite(.heavy) struct DurationAndFormatTests {
    @Test func durations() throws {
        #expect(try PromQLDuration.parse("1h30m") == 5_400_000)
        #expect(try PromQLDuration.parse("1y") == 31_536_000_000)
        #expect(try PromQLDuration.parse("5ms") == 5)
        #expect(try PromQLDuration.parse("0") == 0)
        #expect(throws: PromQLParseError.self) { try PromQLDuration.parse("1m1h") }
        #expect(throws: PromQLParseError.self) { try PromQLDuration.parse("300y") }
        #expect(throws: PromQLParseError.self) { try PromQLDuration.parse("99999999999999999999999s") }
        #expect(PromQLDuration.format(milliseconds: 5_400_000) == "1h30m")
        #expect(PromQLDuration.format(milliseconds: 90 * 86_400_000) == "90d")
        #expect(PromQLDuration.format(milliseconds: 14 * 86_400_000) == "2w")
        #expect(PromQLDuration.format(milliseconds: 0) == "0s")
        #expect(PromQLDuration.format(milliseconds: 1001) == "1s1ms")
    }

    @Test func floats() {
        #expect(GoFormat.float(1) == "1")
        #expect(GoFormat.float(-4) == "-4")
        #expect(GoFormat.float(100000) == "100000")
        #expect(GoFormat.float(1e6) == "1e+06")
        #expect(GoFormat.float(0.0001) == "0.0001")
        #expect(GoFormat.float(0.00001) == "1e-05")
        #expect(GoFormat.float(1.5) == "1.5")
        #expect(GoFormat.float(.infinity) == "+Inf")
        #expect(GoFormat.float(.nan) == "NaN")
        #expect(goFormatFixed(1e30) == "1000000000000000019884624838656.000000")
        #expect(goQuote("a\"b\n") == "\"a\\\"b\\n\"")
    }

    @Test func functionTable() {
        #expect(PromQLFunction.all["rate"]?.argumentTypes == [.matrix])
        #expect(PromQLFunction.all["label_join"]?.variadic == -1)
        #expect(PromQLFunction.all.count == 70)
    }
}
