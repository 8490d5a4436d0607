import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

@Suite(.heavy) struct SelectorTests {
    @Test func parsesMetricAndMatchers() throws {
        let ms = try Selector.parse(#"http_requests_total{job="api", code=~"5..", method!="GET",path!~'/x.*',}"#)
        #expect(ms.map(\.description) == [
            #"__name__="http_requests_total""#, #"job="api""#, #"code=~"5..""#, #"method!="GET""#, #"path!~"/x.*""#,
        ])
    }

    @Test func parsesBareMetricAndBraces() throws {
        #expect(try Selector.parse("up").map(\.description) == [#"__name__="up""#])
        #expect(try Selector.parse("  node:cpu:rate5m  ").count == 1)
        #expect(try Selector.parse(#"{__name__=~"up|down"}"#).count == 1)
        #expect(try Selector.parse(#"{job="a"}"#).first?.kind == .equal)
    }

    @Test func decodesEscapes() throws {
        let ms = try Selector.parse(#"{a="x\"y\\z\n\u00e9", b=`raw\n`}"#)
        #expect(ms[0].value == "x\"y\\z\n\u{e9}")
        #expect(ms[1].value == #"raw\n"#)
    }

    struct Bad: Sendable, CustomStringConvertible {
        let text: String
        let column: Int
        var description: String { text }
    }

    @Test(arguments: [
        Bad(text: "", column: 1),
        Bad(text: "{}", column: 1),
        Bad(text: #"up{job="a""#, column: 11),
        Bad(text: #"up{job="a}"#, column: 8),
        Bad(text: #"up{job~"a"}"#, column: 7),
        Bad(text: #"up{job="a" x="b"}"#, column: 12),
        Bad(text: #"up{9="a"}"#, column: 4),
        Bad(text: #"up{job=~"(a"}"#, column: 9),
        Bad(text: #"up{__name__="x"}"#, column: 4),
        Bad(text: #"{job=""}"#, column: 1),
        Bad(text: #"up extra"#, column: 4),
        Bad(text: #"up{job=a}"#, column: 8),
    ])
    func errorsPointAtTheColumn(_ bad: Bad) {
        do {
            _ = try Selector.parse(bad.text)
            Issue.record("\(bad.text) should not parse")
        } catch {
            #expect(error.code == .invalidSelector)
            #expect(error.location?.offset == bad.column, "\(error)")
            #expect(error.message.contains("column \(bad.column)"))
        }
    }
}
