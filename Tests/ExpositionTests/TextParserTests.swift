import Foundation
import Testing
import Exposition
import TSDB
import TSDBTestSupport

/// The exposition-text parser: Prometheus 2.42's rules for OpenMetrics and the text format.
@Suite(.heavy) struct TextParserTests {
    struct Parsed: Equatable {
        var labels: String
        var value: UInt64
        var timestamp: Int64?
    }

    func parse(_ text: String, _ format: TextParser.Format? = nil) throws -> [Parsed] {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { raw throws -> [Parsed] in
            var p = TextParser(raw, format: format ?? TextParser.detectFormat(raw))
            var out: [Parsed] = []
            while let s = try p.next() {
                out.append(Parsed(labels: try p.labels(of: s).description, value: s.value.bitPattern, timestamp: s.timestamp))
            }
            return out
        }
    }

    func parseError(_ text: String, _ format: TextParser.Format? = nil) -> String {
        do { _ = try parse(text, format); return "" } catch let error as TSDBError { return error.message } catch { return "\(error)" }
    }

    @Test func openMetricsLinesAndEscapes() throws {
        let out = try parse("""
            # HELP x_total Help with \\ and "quotes".
            # TYPE x counter
            # UNIT x_seconds seconds
            x_total{a="b\\\\c",b="q\\"r",c="l\\nm",d="t\\tu"} 1.5 1700000000.123
            x_total 2 1700000000.001 # {trace_id="z"} 1 1700000000
            y{} NaN 1.5
            y -Inf -1.5
            # EOF

            """)
        #expect(out == [
            Parsed(labels: #"{__name__="x_total", a="b\\c", b="q\"r", c="l\nm", d="t\\tu"}"#, value: 1.5.bitPattern, timestamp: 1_700_000_000_123),
            Parsed(labels: #"{__name__="x_total"}"#, value: 2.0.bitPattern, timestamp: 1_700_000_000_001),
            Parsed(labels: #"{__name__="y"}"#, value: 0x7ff8_0000_0000_0001, timestamp: 1_500),
            Parsed(labels: #"{__name__="y"}"#, value: (-Double.infinity).bitPattern, timestamp: -1_500),
        ])
    }

    @Test func prometheusTextLines() throws {
        let out = try parse("""
            # free comment
            #another
            # TYPE a untyped

            a 1
            a{ x = "1" , y="2", } 2 1000
            b{x="1"}3\t 4

            """)
        #expect(out == [
            Parsed(labels: #"{__name__="a"}"#, value: 1.0.bitPattern, timestamp: nil),
            Parsed(labels: #"{__name__="a", x="1", y="2"}"#, value: 2.0.bitPattern, timestamp: 1000),
            Parsed(labels: #"{__name__="b", x="1"}"#, value: 3.0.bitPattern, timestamp: 4),
        ])
    }

    @Test(arguments: [
        ("a 1 1\n", "data does not end with # EOF"),
        ("a 1 1\n\n# EOF\n", "line 2: blank line"),
        ("# hello\na 1 1\n# EOF\n", "line 1: expected HELP, TYPE, UNIT or EOF"),
        ("a{x=\"1\",} 1 1\n# EOF\n", "line 1: expected a label name"),
        ("a 0x10 1\n# EOF\n", "line 1: invalid value"),
        ("a 1_000 1\n# EOF\n", "line 1: invalid value"),
        ("a 1e400 1\n# EOF\n", "line 1: invalid value"),
        ("a 1 NaN\n# EOF\n", "line 1: invalid timestamp"),
        ("a 1 1\n# EOF\nb 2 2\n", "line 3: data after # EOF"),
        ("# TYPE a bogus\n# EOF\n", "line 1: invalid metric type"),
        ("# UNIT a_bytes seconds\n# EOF\n", "line 1: unit \"seconds\" is not a suffix"),
        ("a 1 1 # {x=\"y\"} 1\n# EOF\n", "line 1: metric name a does not support exemplars"),
        ("a{x=\"1\",x=\"2\"} 1 1\n# EOF\n", "line 1: duplicate label name"),
        ("a{x=\"1} 1 1\n# EOF\n", "line 1: label value is not closed"),
    ] as [(String, String)])
    func openMetricsErrorsNameTheLine(_ input: String, _ expected: String) {
        let message = parseError(input, .openMetrics)
        #expect(message.contains(expected), "\(message)")
    }

    @Test func goFloatSyntax() {
        func p(_ s: String) -> Double? { Array(s.utf8).withUnsafeBytes { TextParser.parseGoFloat($0) } }
        #expect(p("1") == 1 && p("-1.5e3") == -1500 && p(".5") == 0.5 && p("1.") == 1 && p("+2") == 2)
        #expect(p("Inf") == .infinity && p("-inf") == -.infinity && p("+Infinity") == .infinity && p("INF") == .infinity)
        #expect(p("NaN")?.bitPattern == 0x7ff8_0000_0000_0001 && p("nan")?.isNaN == true)
        for bad in ["", "+NaN", "0x1p3", "1_0", "e5", "1e", ".", "--1", "1.2.3", "infin", "1e400", " 1"] {
            #expect(p(bad) == nil, "\(bad)")
        }
        #expect(p("1e-400") == 0, "underflow is zero, as in Go")
    }

    /// Property: random label sets and values written as OpenMetrics read back exactly.
    @Test func randomSeriesRoundTrip() throws {
        var rng = SeededRandom.fromEnvironment()
        let alphabet = Array("aZ09 _-\\\"\n{},=#é☃\t".unicodeScalars)
        var text = ""
        var expected: [Parsed] = []
        for _ in 0..<2_000 {
            var pairs: [(String, String)] = [("__name__", "m\(rng.next() % 5)")]
            for n in 0..<Int(rng.next() % 4) {
                var v = ""
                for _ in 0..<Int(rng.next() % 8) { v.unicodeScalars.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
                pairs.append(("l\(n)", v))
            }
            let labels = try Labels(pairs)
            var line = labels.metricName!
            let rest = labels.filter { $0.name != "__name__" }
            if !rest.isEmpty {
                line += "{" + rest.map { l in
                    l.name + "=\"" + l.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
                }.joined(separator: ",") + "}"
            }
            let v = InterestingValues.random(using: &rng)
            let ms = Int64.random(in: -1_000_000_000_000...2_000_000_000_000, using: &rng)
            var num: [UInt8] = []
            GoFormat.appendFloat(v, to: &num)
            var ts: [UInt8] = []
            OpenMetricsText.appendTimestamp(milliseconds: ms, to: &ts)
            text += line + " " + String(decoding: num, as: UTF8.self) + " " + String(decoding: ts, as: UTF8.self) + "\n"
            expected.append(Parsed(labels: labels.description, value: v.isNaN ? TextParser.goNaN.bitPattern : v.bitPattern, timestamp: ms))
        }
        let got = try parse(text + "# EOF\n")
        #expect(got.count == expected.count)
        for (g, e) in zip(got, expected) where g != e {
            Issue.record("seed \(rng.seed): \(g) != \(e)")
            break
        }
    }
}
