import Testing
@testable import PromQL

/// Samples read, counted by hand on a small fixture (the oracle for larger queries is
/// Prometheus itself, in `StatsComparisonTests`).
@Suite(.heavy) struct QueryStatsTests {
    // Two series, a sample a minute from 0 to 9m; job b stops at 4m.
    static func fixture() throws -> EngineFixture {
        try EngineFixture([
            (["__name__": "up", "job": "a"], (0..<10).map { Double($0) }),
            (["__name__": "up", "job": "b"], (0..<5).map { Double($0) }),
        ])
    }

    @Test func countsSelectorsWindowsAndSubqueries() throws {
        let f = try Self.fixture()
        let engine = PromQLEngine()
        func total(_ q: String, at t: Int64) throws -> Int64 {
            let stats = PromQLQueryStats()
            _ = try engine.instantQuery(f.db, q, at: t, stats: stats)
            return stats.totalQueryableSamples
        }
        #expect(try total("up", at: 540_000) == 2)          // b's 4m sample is within 5m of 9m
        #expect(try total("up", at: 600_000) == 1)          // and not of 10m
        #expect(try total("up[3m]", at: 540_000) == 4)      // a at 6, 7, 8, 9m
        #expect(try total("rate(up[3m])", at: 540_000) == 4)
        #expect(try total("count_over_time(up[5m])", at: 240_000) == 10)
        #expect(try total("1 + 2", at: 0) == 0)
        // Under a function only the subquery's points in the window count: a and b at 0..4m.
        #expect(try total("max_over_time(up[4m:1m])", at: 240_000) == 10)
        // At the top, what its expression read: the same ten.
        #expect(try total("up[4m:1m]", at: 240_000) == 10)
    }

    @Test func countsEachStepAndTracksThePeak() throws {
        let f = try Self.fixture()
        let stats = PromQLQueryStats(perStep: true)
        _ = try PromQLEngine().rangeQuery(f.db, "sum(up)", start: 0, end: 540_000, step: 180_000, stats: stats)
        let steps = try #require(stats.totalQueryableSamplesPerStep)
        #expect(steps.map(\.timestamp) == [0, 180_000, 360_000, 540_000])
        #expect(steps.map(\.samples) == [2, 2, 2, 2])
        #expect(stats.totalQueryableSamples == 8)
        // Eight selected points, then four sums.
        #expect(stats.peakSamples == 12)
        let plain = PromQLQueryStats()
        _ = try PromQLEngine().rangeQuery(f.db, "up", start: 0, end: 540_000, step: 180_000, stats: plain)
        #expect(plain.totalQueryableSamplesPerStep == nil)
        #expect(plain.totalQueryableSamples == 8)
    }
}
