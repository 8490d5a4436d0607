import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct MatcherTests {
    struct Case: Sendable, CustomStringConvertible {
        let kind: Matcher.Kind
        let pattern: String
        let value: String
        let expected: Bool
        var description: String { "\(kind.rawValue)\(pattern) on \(value)" }
    }

    static let cases: [Case] = [
        Case(kind: .equal, pattern: "api", value: "api", expected: true),
        Case(kind: .equal, pattern: "api", value: "apix", expected: false),
        Case(kind: .equal, pattern: "", value: "", expected: true),
        Case(kind: .notEqual, pattern: "api", value: "web", expected: true),
        Case(kind: .notEqual, pattern: "api", value: "api", expected: false),
        Case(kind: .regexMatch, pattern: "a.*", value: "abc", expected: true),
        Case(kind: .regexMatch, pattern: "b", value: "abc", expected: false),   // anchored
        Case(kind: .regexMatch, pattern: "b.*", value: "abc", expected: false),
        Case(kind: .regexMatch, pattern: ".*c", value: "abc", expected: true),
        Case(kind: .regexMatch, pattern: ".*b.*", value: "abc", expected: true),
        Case(kind: .regexMatch, pattern: "a|b|c", value: "b", expected: true),
        Case(kind: .regexMatch, pattern: "a|b|c", value: "ab", expected: false),
        Case(kind: .regexMatch, pattern: "(a|b)", value: "a", expected: true),
        Case(kind: .regexMatch, pattern: "5..", value: "503", expected: true),
        Case(kind: .regexMatch, pattern: "5..", value: "5034", expected: false),
        Case(kind: .regexMatch, pattern: "5..", value: "5\r\n", expected: true),  // '.' is one code point, matches \n
        Case(kind: .regexMatch, pattern: "a.c", value: "a\nc", expected: true),
        Case(kind: .regexMatch, pattern: "(?i)get", value: "GeT", expected: true),
        Case(kind: .regexMatch, pattern: "\\d+", value: "123", expected: true),
        Case(kind: .regexMatch, pattern: "\\d+", value: "١٢٣", expected: false),  // ASCII digits only, as RE2
        Case(kind: .regexMatch, pattern: "\\s", value: "\u{0B}", expected: false), // Go's \s excludes VT
        Case(kind: .regexMatch, pattern: "\\s", value: "\t", expected: true),
        Case(kind: .regexMatch, pattern: "a$", value: "a\n", expected: false),
        Case(kind: .regexMatch, pattern: ".*", value: "", expected: true),
        Case(kind: .regexMatch, pattern: ".+", value: "", expected: false),
        Case(kind: .regexMatch, pattern: "", value: "", expected: true),
        Case(kind: .regexMatch, pattern: "", value: "x", expected: false),
        Case(kind: .regexMatch, pattern: "e\u{301}", value: "\u{e9}", expected: false),
        Case(kind: .regexMatch, pattern: "\\pL+", value: "héllo", expected: true),
        Case(kind: .regexNoMatch, pattern: "a.*", value: "abc", expected: false),
        Case(kind: .regexNoMatch, pattern: "a.*", value: "xyz", expected: true),
        Case(kind: .regexNoMatch, pattern: "", value: "", expected: false),
    ]

    @Test(arguments: cases)
    func semantics(_ c: Case) throws {
        let m = try Matcher(c.kind, "l", c.pattern)
        #expect(m.matches(c.value) == c.expected)
        #expect(m.inverse.matches(c.value) == !c.expected)
    }

    @Test func fastPathsAreChosen() throws {
        func test(_ p: String) throws -> String {
            switch try Matcher(.regexMatch, "l", p).test {
            case .literal: "literal"
            case .set(let s): "set\(s.count)"
            case .smallSet(let s): "smallSet\(s.count)"
            case .prefix: "prefix"
            case .suffix: "suffix"
            case .contains: "contains"
            case .any: "any"
            case .nonEmpty: "nonEmpty"
            case .regex: "regex"
            }
        }
        #expect(try test("foo") == "literal")
        #expect(try test("foo.*") == "prefix")
        #expect(try test(".*foo") == "suffix")
        #expect(try test(".*foo.*") == "contains")
        #expect(try test("a|b|c") == "smallSet3")
        #expect(try test("a|b|c|d|e|f|g|h|i") == "set9")
        #expect(try test(".*") == "any")
        #expect(try test(".+") == "nonEmpty")
        #expect(try test("a+") == "regex")
    }

    @Test func fastPathsAgreeWithTheRegexEngine() throws {
        var rng = SeededRandom.fromEnvironment()
        let alphabet = Array("abc.-_é\n")
        func word(_ n: Int) -> String { String((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }) }
        let patterns = ["ab.*", ".*ab", ".*b.*", "a|bc|", "(a|b)", "abc", ".*", ".+", "é.*", ".*\n"]
        for p in patterns {
            guard let fast = ValueTest.fastPath(for: p) else { Issue.record("no fast path for \(p)"); continue }
            let slow = try PCRE2Regex(p)
            for _ in 0..<300 {
                let v = word(Int(rng.next() % 5))
                #expect(fast.matches(v) == slow.matches(v), "pattern \(p) value \(v.debugDescription) seed \(rng.seed)")
            }
        }
    }

    @Test(arguments: ["(?=a)", "(?!a)", "(?<=a)b", "(?<!a)b", "(a)\\1", "a++", "a*+", "(?>a)", "\\K", "\\R", "\\h",
                      "(*UTF)a", "a{1001}", "(?R)", "(?|a)", "(?#c)", "(?x)a", "\\C", "[a", "a)", "*"])
    func rejectsWhatRE2Rejects(_ pattern: String) {
        #expect(throws: TSDBError.self) { try Matcher(.regexMatch, "l", pattern) }
    }

    @Test(arguments: ["(?P<n>a)", "(?<n>a)", "(?i:a)b", "(?s)a", "\\Q.*\\E", "a{2,1000}", "[[:alpha:]]+", "\\x{41}", "\\p{Greek}", "[\\s]", "a{,3}"])
    func acceptsRE2Syntax(_ pattern: String) throws {
        _ = try Matcher(.regexMatch, "l", pattern)
    }

    @Test func concurrentMatchingIsSafe() async throws {
        let m = try Matcher(.regexMatch, "l", "node-[0-9]+")
        await withTaskGroup(of: Int.self) { group in
            for t in 0..<4 {
                group.addTask {
                    var hits = 0
                    for i in 0..<5000 where m.matches(t % 2 == 0 ? "node-\(i)" : "x\(i)") { hits += 1 }
                    return hits
                }
            }
            var total = 0
            for await h in group { total += h }
            #expect(total == 2 * 5000)
        }
    }
}
