import Exposition
import Testing
import TSDB
import TSDBTestSupport
@testable import PromQL

/// A small database for evaluator tests: series appended every minute from time 0.
final class EngineFixture {
    let dir: TemporaryDirectory
    let db: DB

    init(_ series: [(labels: [String: String], values: [Double?])], interval: Int64 = 60_000) throws {
        dir = try TemporaryDirectory("promql-engine")
        var options = Options()
        options.maxFutureSkew = nil
        options.compactionEnabled = false
        db = try DB.open(directory: dir.path, options: options)
        var app = try db.appender()
        for s in series {
            let labels = try Labels(s.labels)
            for (i, v) in s.values.enumerated() {
                if let v { _ = try app.append(labels, timestamp: Int64(i) * interval, value: v) }
            }
        }
        try app.commit()
    }

    deinit {
        try? db.close()
        dir.remove()
    }

    func instant(_ q: String, at t: Int64) throws -> PromQLResult {
        try PromQLEngine().instantQuery(db, q, at: t)
    }

    /// `{labels} value` lines of an instant vector, sorted.
    func vector(_ q: String, at t: Int64) throws -> [String] {
        guard case .vector(let v) = try instant(q, at: t) else { Issue.record("\(q) is not a vector"); return [] }
        return v.map { "\($0.labels) \($0.value)" }.sorted()
    }
}

let staleMarker = Double(bitPattern: 0x7ff0_0000_0000_0002)

@Suite(.heavy) struct EngineTests {
    @Test func selectorLooksBackFiveMinutesAndStopsAtStaleness() throws {
        let f = try EngineFixture([
            (["__name__": "up", "job": "a"], [1, 2, 3]),
            (["__name__": "up", "job": "b"], [5, staleMarker]),
        ])
        #expect(try f.vector("up", at: 30_000) == ["{__name__=\"up\", job=\"a\"} 1.0", "{__name__=\"up\", job=\"b\"} 5.0"])
        #expect(try f.vector("up", at: 60_000) == ["{__name__=\"up\", job=\"a\"} 2.0"])
        // The newest sample of job a is at 2m; 5 minutes later it is still seen, after that not.
        #expect(try f.vector("up", at: 420_000) == ["{__name__=\"up\", job=\"a\"} 3.0"])
        #expect(try f.vector("up", at: 420_001) == [])
        #expect(try f.vector("up offset 1m", at: 60_000) == ["{__name__=\"up\", job=\"a\"} 1.0", "{__name__=\"up\", job=\"b\"} 5.0"])
        #expect(try f.vector("up @ 0", at: 120_000) == ["{__name__=\"up\", job=\"a\"} 1.0", "{__name__=\"up\", job=\"b\"} 5.0"])
    }

    @Test func aggregationsAndBinaryOperators() throws {
        let f = try EngineFixture([
            (["__name__": "x", "job": "a", "i": "1"], [1]),
            (["__name__": "x", "job": "a", "i": "2"], [3]),
            (["__name__": "x", "job": "b", "i": "1"], [10]),
            (["__name__": "y", "job": "a"], [2]),
        ])
        #expect(try f.vector("sum by (job) (x)", at: 0) == ["{job=\"a\"} 4.0", "{job=\"b\"} 10.0"])
        #expect(try f.vector("avg without (i) (x)", at: 0) == ["{job=\"a\"} 2.0", "{job=\"b\"} 10.0"])
        #expect(try f.vector("count(x)", at: 0) == ["{} 3.0"])
        #expect(try f.vector("x * 2 > 5", at: 0) == ["{i=\"1\", job=\"b\"} 20.0", "{i=\"2\", job=\"a\"} 6.0"])
        #expect(try f.vector("x > bool 2", at: 0) == ["{i=\"1\", job=\"a\"} 0.0", "{i=\"1\", job=\"b\"} 1.0", "{i=\"2\", job=\"a\"} 1.0"])
        #expect(try f.vector("x / on(job) group_left y", at: 0) == ["{i=\"1\", job=\"a\"} 0.5", "{i=\"2\", job=\"a\"} 1.5"])
        #expect(try f.vector("x and on(job) y", at: 0).count == 2)
        #expect(try f.vector("x unless on(job) y", at: 0) == ["{__name__=\"x\", i=\"1\", job=\"b\"} 10.0"])
        #expect(try f.vector("topk(1, x)", at: 0) == ["{__name__=\"x\", i=\"1\", job=\"b\"} 10.0"])
        #expect(try f.vector("count_values(\"v\", x)", at: 0) == ["{v=\"1\"} 1.0", "{v=\"10\"} 1.0", "{v=\"3\"} 1.0"])
        #expect(try f.vector("absent(nope{job=\"z\"})", at: 0) == ["{job=\"z\"} 1.0"])
        #expect(throws: PromQLError.self) { try f.vector("x / on(job) y", at: 0) }
        guard case let .scalar(_, v) = try f.instant("scalar(y) + 1", at: 0) else { Issue.record("not a scalar"); return }
        #expect(v == 3)
    }

    @Test func rangeQueryHasAPointPerStep() throws {
        let f = try EngineFixture([(["__name__": "up", "job": "a"], [1, 2, 3])])
        let r = try PromQLEngine().rangeQuery(f.db, "up * 10", start: 0, end: 180_000, step: 60_000)
        guard case .matrix(let m) = r else { Issue.record("not a matrix"); return }
        #expect(m.count == 1)
        #expect(m.first?.points.map(\.value) == [10, 20, 30, 30])
        #expect(throws: PromQLError.self) { try PromQLEngine().rangeQuery(f.db, "up", start: 0, end: 10, step: 0) }
        #expect(throws: PromQLError.self) { try PromQLEngine().rangeQuery(f.db, "up[5m]", start: 0, end: 10, step: 1) }
    }
}

@Suite(.heavy) struct GoFixedFormatTests {
    @Test func fixedNeverUsesAnExponent() {
        #expect(GoFormat.fixed(1) == "1")
        #expect(GoFormat.fixed(-2.5) == "-2.5")
        #expect(GoFormat.fixed(1e21) == "1000000000000000000000")
        #expect(GoFormat.fixed(1e-7) == "0.0000001")
        #expect(GoFormat.fixed(0.1) == "0.1")
        #expect(GoFormat.fixed(123456.789) == "123456.789")
        #expect(GoFormat.fixed(.nan) == "NaN")
        #expect(GoFormat.fixed(-.infinity) == "-Inf")
        #expect(GoFormat.fixed(-0.0) == "-0")
    }
}

@Suite(.heavy) struct SubqueryAndModifierTests {
    @Test func subqueryStepsAreAlignedToMultiplesOfTheStep() throws {
        let f = try EngineFixture([(["__name__": "up"], [1, 2, 3, 4, 5, 6])])
        // At 5m30s a [3m:1m] subquery covers 2m30s..5m30s: steps at 3m, 4m, 5m.
        guard case .matrix(let m) = try f.instant("up[3m:1m]", at: 330_000) else { Issue.record("not a matrix"); return }
        #expect(m.first?.points.map(\.timestamp) == [180_000, 240_000, 300_000])
        #expect(m.first?.points.map(\.value) == [4, 5, 6])
        guard case .matrix(let o) = try f.instant("up[2m:1m] offset 2m", at: 300_000) else { Issue.record("not a matrix"); return }
        #expect(o.first?.points.map(\.timestamp) == [60_000, 120_000, 180_000])
        // A matrix selector's window includes both ends in 2.42.
        guard case .matrix(let r) = try f.instant("up[2m]", at: 180_000) else { Issue.record("not a matrix"); return }
        #expect(r.first?.points.map(\.value) == [2, 3, 4])
    }

    @Test func atStartAndEndPinARangeQuery() throws {
        let f = try EngineFixture([(["__name__": "up"], [1, 2, 3, 4])])
        let engine = PromQLEngine()
        guard case .matrix(let s) = try engine.rangeQuery(f.db, "up @ start()", start: 60_000, end: 180_000, step: 60_000),
              case .matrix(let e) = try engine.rangeQuery(f.db, "up @ end()", start: 60_000, end: 180_000, step: 60_000)
        else { Issue.record("not a matrix"); return }
        #expect(s.first?.points.map(\.value) == [2, 2, 2])
        #expect(e.first?.points.map(\.value) == [4, 4, 4])
    }

    @Test func matchingErrorsAreThrown() throws {
        let f = try EngineFixture([
            (["__name__": "a", "job": "x", "i": "1"], [1]),
            (["__name__": "a", "job": "x", "i": "2"], [2]),
            (["__name__": "b", "job": "x"], [3]),
            (["__name__": "b", "job": "x", "k": "1"], [4]),
            (["__name__": "c", "job": "x", "i": "1"], [5]),
        ])
        #expect(throws: PromQLError(.execution, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")) {
            try f.instant("a + on(job) b{k=\"\"}", at: 0)
        }
        // group_right makes the left side the one side, where two series share job="x".
        #expect(throws: PromQLError.self) { try f.instant("a + on(job) group_right b", at: 0) }
        #expect(throws: PromQLError.self) { try f.instant("a + on(job) group_left b", at: 0) }
        #expect(throws: PromQLError(.execution, "vector cannot contain metrics with the same labelset")) {
            try f.instant("-{i=\"1\"}", at: 0)
        }
        // Comparisons keep the vector's own value even with the scalar on the left.
        #expect(try f.vector("1 < a", at: 0) == ["{__name__=\"a\", i=\"2\", job=\"x\"} 2.0"])
        #expect(try f.vector("a or b", at: 0).count == 4)
        #expect(try f.vector("b * on(job) group_left(i) a{i=\"1\"}", at: 0) == ["{i=\"1\", job=\"x\", k=\"1\"} 4.0", "{i=\"1\", job=\"x\"} 3.0"])
    }
}

@Suite(.heavy) struct RangeFunctionEvaluationTests {
    @Test func rateIncreaseAndOverTimeOverStoredSamples() throws {
        // A counter going up 60 a minute, reset once at 5m.
        let f = try EngineFixture([(["__name__": "c_total", "job": "a"], [0, 60, 120, 180, 240, 0, 60, 120, 180])])
        #expect(try f.vector("rate(c_total[4m])", at: 240_000) == ["{job=\"a\"} 1.0"])
        #expect(try f.vector("increase(c_total[4m])", at: 480_000) == ["{job=\"a\"} 180.0"])
        #expect(try f.vector("resets(c_total[10m])", at: 480_000) == ["{job=\"a\"} 1.0"])
        #expect(try f.vector("max_over_time(c_total[10m])", at: 480_000) == ["{job=\"a\"} 240.0"])
        #expect(try f.vector("last_over_time(c_total[10m])", at: 480_000) == ["{__name__=\"c_total\", job=\"a\"} 180.0"])
        #expect(try f.vector("max_over_time(c_total[3m:1m])", at: 480_000) == ["{job=\"a\"} 180.0"])
        #expect(try f.vector("absent_over_time(c_total{job=\"a\"}[1m])", at: 1_000_000) == ["{job=\"a\"} 1.0"])
        #expect(try f.vector("absent_over_time(c_total{job=\"a\"}[1m])", at: 480_000) == [])
        #expect(try f.vector("sum(rate(c_total[4m])) by (job)", at: 240_000) == ["{job=\"a\"} 1.0"])
    }
}

@Suite(.heavy) struct BadQueryInputTests {
    @Test func rangeParametersAreCheckedAsPrometheusChecksThem() throws {
        let f = try EngineFixture([(["__name__": "up"], [1])])
        let e = PromQLEngine()
        #expect(throws: PromQLError(.parse, "zero or negative query resolution step widths are not accepted. Try a positive integer")) {
            try e.rangeQuery(f.db, "up", start: 0, end: 60_000, step: 0)
        }
        #expect(throws: PromQLError.self) { try e.rangeQuery(f.db, "up", start: 0, end: 60_000, step: -1) }
        #expect(throws: PromQLError(.parse, "end timestamp must not be before start time")) {
            try e.rangeQuery(f.db, "up", start: 60_000, end: 0, step: 1_000)
        }
        // 11,000 steps after the start are allowed; one more is not.
        _ = try e.rangeQuery(f.db, "up", start: 0, end: 11_000_000, step: 1_000)
        #expect(throws: PromQLError.self) { try e.rangeQuery(f.db, "up", start: 0, end: 11_001_000, step: 1_000) }
        // Extreme times neither trap nor overflow.
        #expect(throws: PromQLError.self) { try e.rangeQuery(f.db, "up", start: .min, end: .max, step: 1) }
        _ = try? e.instantQuery(f.db, "up offset 1000000y", at: .max)
        _ = try? e.instantQuery(f.db, "rate(up[1000000y])", at: .min)
    }

    @Test func hostileQueriesAreParseErrors() throws {
        let f = try EngineFixture([(["__name__": "up"], [1])])
        let e = PromQLEngine()
        let deep = String(repeating: "(", count: 10_000) + "up" + String(repeating: ")", count: 10_000)
        #expect(throws: PromQLError.self) { try e.instantQuery(f.db, deep, at: 0) }
        let long = String(repeating: "up + ", count: 200_000) + "up"
        #expect(throws: PromQLError.self) { try e.instantQuery(f.db, long, at: 0) }
        let invalidUTF8 = String(decoding: [0x75, 0x70, 0x7b, 0x61, 0x3d, 0x22, 0xff, 0xfe, 0x22, 0x7d], as: UTF8.self)
        _ = try? e.instantQuery(f.db, invalidUTF8, at: 0)
    }

    @Test func tooManySamplesStopsTheQuery() throws {
        let f = try EngineFixture([
            (["__name__": "x", "i": "1"], [Double](repeating: 1, count: 50)),
            (["__name__": "x", "i": "2"], [Double](repeating: 1, count: 50)),
        ])
        let e = PromQLEngine(options: .init(maxSamples: 10))
        #expect(throws: PromQLError(.tooManySamples, "query processing would load too many samples into memory in query execution")) {
            try e.rangeQuery(f.db, "x", start: 0, end: 3_000_000, step: 60_000)
        }
        let cancel = PromQLCancellation()
        cancel.cancel()
        #expect(throws: PromQLError(.canceled, "query was canceled in query execution")) {
            try PromQLEngine().instantQuery(f.db, "x", at: 0, cancellation: cancel)
        }
    }
}

@Suite(.heavy) struct HugeSubqueryTests {
    @Test func aSubqueryGridBeyondTheSampleLimitIsRefusedNotAllocated() throws {
        let f = try EngineFixture([(["__name__": "up"], [1])])
        #expect(throws: PromQLError.self) { try PromQLEngine().instantQuery(f.db, "max_over_time(vector(1)[100000y:1s])", at: 0) }
        #expect(throws: PromQLError.self) { try PromQLEngine().instantQuery(f.db, "max_over_time(up[1000y:1ms])", at: 0) }
    }
}
