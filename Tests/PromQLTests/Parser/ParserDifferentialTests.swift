import Testing
import TSDBTestSupport
@testable import PromQL

/// The parser against promtool 2.42's recorded verdicts: the same acceptance and the same
/// error text, except regex compile errors (the engine's PCRE2 words them differently from Go).
@Suite(.heavy) struct ParserDifferentialTests {
    @Test func agreesWithPromtool() throws {
        var agree = 0, total = 0
        for (query, verdict) in try LexerDifferentialTests.verdicts() {
            total += 1
            let ours: String
            do { _ = try PromQLParser.parse(query); ours = "OK" } catch { ours = error.description }
            if ours == verdict { agree += 1 } else { print("DISAGREE\t\(query)\tpromtool: \(verdict)\tours: \(ours)") }
            if !verdict.contains("error parsing regexp") { #expect(ours == verdict, "query: \(query)") }
        }
        print("AGREE \(agree) of \(total)")
    }

    @Test(arguments: [
        ("-2^2", "-2 ^ 2"), ("a + b * c", "a + b * c"), ("(a + b) * c", "(a + b) * c"),
        ("sum by (job) (rate(foo{a=\"b\"}[5m] offset 1m))", "sum by (job) (rate(foo{a=\"b\"}[5m] offset 1m))"),
        ("foo @ 1 offset -5m", "foo @ 1.000 offset -5m"), ("0x1f", "31"), ("1e6", "1e+06"),
        ("a > bool on(x) group_left(y) b", "a > bool on (x) group_left (y) b"),
    ])
    func printing(query: String, printed: String) throws {
        #expect(try PromQLParser.parse(query).description == printed)
    }

    @Test func hugeQueriesDoNotTrap() throws {
        let chain = String(repeating: "a + ", count: 250_000) + "a"
        #expect(throws: PromQLParseError.self) { try PromQLParser.parse(chain) }
        let long = "foo{a=\"" + String(repeating: "x", count: 1_000_000) + "\"}"
        #expect(try PromQLParser.parse(long).description.utf8.count == long.utf8.count)
        #expect(throws: PromQLParseError.self) { try PromQLParser.parse(utf8: [0x22, 0xFF, 0x22]) }
        #expect(throws: PromQLParseError.self) { try PromQLParser.parse("foo[99999999999999999999y]") }
        #expect(throws: PromQLParseError.self) { try PromQLParser.parse(String(repeating: "-", count: 10_000) + "1") }
        #expect(throws: PromQLParseError.self) { try PromQLParser.parse("1e999999") }
    }

    @Test func deepNestingIsAnError() {
        let q = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        #expect(throws: PromQLParseError.self) { try PromQLParser.parse(q) }
    }
}
