import Testing
import TSDBTestSupport
import TSDB
@testable import PromQL

/// The test-script format: series lines and their expansion, eval headers, expected lines.
@Suite(.heavy) struct TestScriptTests {
    func values(_ line: String) throws -> [Double?] {
        try SeriesDescription.parse(line).values
    }

    func bits(_ v: [Double?]) -> [UInt64?] { v.map { $0?.bitPattern } }

    @Test func expandsRepetitions() throws {
        #expect(try values("m 1+2x3") == [1, 3, 5, 7])
        #expect(try values("m 10-3x3") == [10, 7, 4, 1])
        #expect(try values("m 4x2") == [4, 4, 4])
        #expect(try values("m -1+1x2") == [-1, 0, 1])
        #expect(try values("m 1 _ 3") == [1, nil, 3])
        #expect(try values("m _x3 1") == [nil, nil, nil, 1])
        #expect(try values("m 1x0") == [1])
        #expect(try values("m") == [])
        #expect(try values("m 1 2   3 ") == [1, 2, 3])
        #expect(try values("m 1e3 .5 -2") == [1000, 0.5, -2])
    }

    @Test func expandsByRepeatedAddition() throws {
        var expected: [Double?] = []
        var v = 0.1
        for _ in 0...3 { expected.append(v); v += 0.1 }
        #expect(bits(try values("m 0.1+0.1x3")) == bits(expected))
    }

    @Test func specialValues() throws {
        let v = try values("m stale Inf -Inf NaN inf")
        #expect(v.count == 5)
        #expect(v[0]?.bitPattern == staleNaNBits)
        #expect(v[1] == .infinity)
        #expect(v[2] == -.infinity)
        #expect(v[3]?.isNaN == true && v[3]?.bitPattern != staleNaNBits)
        #expect(v[4] == .infinity)
    }

    /// Go's ParseInt with base 0 reads a leading 0 as octal, as Prometheus does.
    @Test func numbersAsGoReadsThem() {
        #expect(goParseNumber("010") == 8)
        #expect(goParseNumber("09") == 9)
        #expect(goParseNumber("0x1F") == 31)
        #expect(goParseNumber("-5") == -5)
        #expect(goParseNumber("+Inf") == .infinity)
        #expect(goParseNumber("NaN")?.isNaN == true)
        #expect(goParseNumber("1e400") == nil)
        #expect(goParseNumber("abc") == nil)
        #expect(goParseNumber("{} 1") == nil)
    }

    @Test func labels() throws {
        let d = try SeriesDescription.parse(#"http_requests{job="api", path='/a\n', q=`x\y`} 1"#)
        #expect(d.labels == [Label(name: "__name__", value: "http_requests"), Label(name: "job", value: "api"),
                             Label(name: "path", value: "/a\n"), Label(name: "q", value: #"x\y"#)])
        #expect(try SeriesDescription.parse(#"{__name__="x", b="2", a="1",} 5"#).labels.map(\.name) == ["__name__", "a", "b"])
        #expect(try SeriesDescription.parse("{} 1").labels.isEmpty)
        #expect(try SeriesDescription.parse(#"{a=""} 1"#).labels.isEmpty)
        #expect(try SeriesDescription.parse("sum 1").labels == [Label(name: "__name__", value: "sum")])
        #expect(try SeriesDescription.parse("by:x 1").labels == [Label(name: "__name__", value: "by:x")])
    }

    @Test(arguments: ["m 1x", "m 1+2", "m bar", "m 1x1.5", #"m{a=1} 1"#, #"m{a="1} 1"#, "m 1 $", "m 1a",
                      "on 1", "m{a} 1", "m 1x99999999999", "m stalex2", "1 2"])
    func rejects(_ line: String) {
        #expect(throws: ScriptLineError.self) { try SeriesDescription.parse(line) }
    }

    @Test func parsesCommands() throws {
        let text = """
            # comment
            load 5m
              a{x="1"} 0+1x3
              a{x="2"} 1 _ stale

            eval instant at 10m sum(a)
              {} 3

            eval_ordered instant at 1h30m sort(a)
              a{x="1"} 3
              a{x="2"} 1

            eval_fail instant at 0 a / on() a

            eval instant at 5s 1 + 1
              2

            clear
            eval instant at 0 scalar(a)
              NaN
            """
        let script = PromQLTestScript.parse(text, file: "t.test")
        #expect(script.diagnostics == [])
        #expect(script.commands.count == 7)
        guard case .load(let load) = script.commands[0] else { Issue.record("no load"); return }
        #expect(load.line == 2)
        #expect(load.interval == 300_000)
        #expect(load.series.count == 2)
        #expect(load.series[0].samples.map(\.timestamp) == [0, 300_000, 600_000, 900_000])
        #expect(load.series[1].samples.map(\.timestamp) == [0, 600_000])
        #expect(load.series[1].samples[1].value.bitPattern == staleNaNBits)
        guard case .eval(let e1) = script.commands[1], case .eval(let e2) = script.commands[2],
              case .eval(let e3) = script.commands[3], case .eval(let e4) = script.commands[4],
              case .clear(let clearLine) = script.commands[5], case .eval(let e5) = script.commands[6] else {
            Issue.record("commands out of order: \(script.commands)")
            return
        }
        #expect(e1.line == 6 && e1.time == 600_000 && e1.mode == .normal && e1.query == "sum(a)")
        #expect(e1.expected.samples[[]]?.value == 3)
        #expect(e1.expr != nil)
        #expect(e2.mode == .ordered && e2.time == 5_400_000)
        #expect(e2.expected.samples[[Label(name: "__name__", value: "a"), Label(name: "x", value: "2")]]?.position == 2)
        #expect(e3.mode == .fail && e3.expected.isEmpty)
        #expect(e4.time == 5000 && e4.expected.scalar == 2)
        #expect(clearLine == 18)
        #expect(e5.time == 0 && e5.query == "scalar(a)" && e5.expected.scalar?.isNaN == true)
    }

    /// A comment or blank line ends a block; what follows must be a command.
    @Test func blocksEndAtComments() {
        let text = """
            load 1m
              a 1
            # end
              b 2
            eval instant at 0 a
              a 1
            """
        let script = PromQLTestScript.parse(text)
        #expect(script.diagnostics.map(\.line) == [4])
        #expect(script.commands.count == 2)
    }

    @Test func reportsBadLines() {
        // A block runs to the next blank line: "load five" in a load block is a bad series line.
        let text = """
            load 1m
              a 1x
            load five

            eval instant at 0 sum(

            eval instant at xyz a

            eval instant at 0 a
              a 1 2

            evaluate 1

            frobnicate

            eval instant  a

            load five
            """
        let script = PromQLTestScript.parse(text)
        // The query that does not parse is kept: running it is a failure of that eval.
        #expect(script.diagnostics.map(\.line) == [2, 3, 7, 10, 12, 14, 16, 18])
        let evals = script.commands.compactMap { if case .eval(let e) = $0 { e } else { nil } }
        #expect(evals.count == 1)
        #expect(evals.first?.parseError != nil)
    }

    /// A scalar line ends the expected block; the next line is a command again.
    @Test func scalarEndsExpectations() {
        let script = PromQLTestScript.parse("eval instant at 0 1\n  1\n  2\n")
        #expect(script.diagnostics.map(\.line) == [3])
    }

    @Test func expectedLines() {
        let script = PromQLTestScript.parse("eval instant at 0 x\n  x{a=\"b\"} _\n  y\n  {} -Inf\n")
        guard case .eval(let e)? = script.commands.first else { Issue.record("no eval"); return }
        #expect(e.expected.samples.count == 3)
        #expect(e.expected.samples[[Label(name: "__name__", value: "x"), Label(name: "a", value: "b")]]?.value == 0)
        #expect(e.expected.samples[[Label(name: "__name__", value: "y")]].map { $0.value == nil } == true)
        #expect(e.expected.samples[[]]?.value == -.infinity)
    }

    @Test func almostEqual() {
        #expect(PromQLTestRunner.almostEqual(1, 1 + 1e-7))
        #expect(!PromQLTestRunner.almostEqual(1, 1.00001))
        #expect(PromQLTestRunner.almostEqual(.nan, Double(bitPattern: staleNaNBits)))
        #expect(!PromQLTestRunner.almostEqual(.nan, 1))
        #expect(PromQLTestRunner.almostEqual(.infinity, .infinity))
        #expect(!PromQLTestRunner.almostEqual(.infinity, -.infinity))
        #expect(!PromQLTestRunner.almostEqual(0, 1e-300))
        #expect(PromQLTestRunner.almostEqual(0, -0.0))
    }

    @Test func atModifierCases() throws {
        let e = try PromQLParser.parse("rate(a[5m]) + b @ 10 + c @ start() + max_over_time(d[5m:1m])")
        let cases = PromQLTestRunner.atModifierCases(e, evalTime: 60_000)
        #expect(cases.map(\.1) == [-600_000, 0, 12_000, 60_000, 600_000])
        #expect(cases.first?.0.description == "rate(a[5m] @ 60.000) + b @ 10.000 + c @ 60.000 + max_over_time(d[5m:1m] @ 60.000)")
        #expect(PromQLTestRunner.atModifierCases(e, evalTime: 0).map(\.1) == [-1000, 0, 1000])
        // Inside a subquery nothing changes.
        let sub = try PromQLParser.parse("max_over_time(rate(a[1m])[5m:1m])")
        #expect(PromQLTestRunner.atModifierCases(sub, evalTime: 1000).first?.0.description == "max_over_time(rate(a[1m])[5m:1m] @ 1.000)")
        for unsafe in ["time()", "timestamp(a)", "hour(a)", "predict_linear(a[5m], 1)", "sum(a) + year()"] {
            #expect(PromQLTestRunner.atModifierCases(try PromQLParser.parse(unsafe), evalTime: 1000).isEmpty)
        }
        // time() inside a subquery is not looked at, as in Prometheus.
        #expect(PromQLTestRunner.atModifierCases(try PromQLParser.parse("max_over_time(vector(time())[5m:])"), evalTime: 1000).count == 5)
    }
}
