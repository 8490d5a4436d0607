import Testing
import TSDBTestSupport

import TSDB

/// The selector parser walks Unicode scalars, as Go's lexer walks runes. Found by the
/// `selector` fuzz target: walking `Character`s, a quote followed by a combining mark is
/// one grapheme, so `{a="́"}` (which is how the matcher a="\u0301" prints) did not parse.
@Suite(.heavy) struct SelectorScalarTests {
    @Test func aValueStartingWithACombiningMarkParses() throws {
        let matchers = try Selector.parse("{a=\"\u{301}\"}")
        #expect(matchers == [try Matcher(.equal, "a", "\u{301}")])
        let printed = "{" + matchers.map(\.description).joined(separator: ", ") + "}"
        #expect(try Selector.parse(printed) == matchers)
    }

    @Test func aCombiningMarkAfterTheClosingQuoteIsAnError() {
        #expect(throws: TSDBError.self) { try Selector.parse("{a=\"b\"\u{301}}") }
    }

    /// "\r\n" is one `Character`, which the space skipper did not recognise.
    @Test func crlfIsWhitespace() throws {
        #expect(try Selector.parse("up{job=\"a\",\r\n code=\"200\"}").count == 3)
    }

    @Test func hexEscapesTakeHexDigitsOnly() {
        #expect(throws: TSDBError.self) { try Selector.parse(#"{a="\x+7"}"#) }
        #expect(throws: TSDBError.self) { try Selector.parse(#"{a="\u+041"}"#) }
    }
}
