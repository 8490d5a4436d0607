import Testing
import TSDBTestSupport

@testable import TSDB

/// The cases of Prometheus 2.42's `TestLeveledCompactor_plan`, `TestSplitByRange`,
/// `TestRangeWithFailedCompactionWontGetSelected` and `TestNoPanicFor0Tombstones`
/// (tsdb/compact_test.go): the same block metas, the same expected plans.
@Suite(.heavy) struct PlannerTests {
    /// A meta named `name` (a small number, as Prometheus's tests name directories), with its
    /// ULID built from it so plans can be read back as names.
    static func meta(_ name: Int, _ minTime: Int64, _ maxTime: Int64, series: UInt64 = 0, tombstones: UInt64 = 0,
                     failed: Bool = false) -> BlockMeta {
        var m = BlockMeta(ulid: ULID(high: 0, low: UInt64(name)), minTime: minTime, maxTime: maxTime,
                          stats: .init(numSeries: series, numTombstones: tombstones))
        m.compaction.failed = failed
        return m
    }

    static func names(_ metas: [BlockMeta]) -> [Int] { metas.map { Int($0.ulid.low) } }

    /// Prometheus's default ranges scaled to a 20 ms minimum.
    static let planner = CompactionPlanner(ranges: [20, 60, 180, 540, 1620])

    struct PlanCase: CustomTestStringConvertible, Sendable {
        let title: String
        let metas: [BlockMeta]
        let expected: [Int]
        var testDescription: String { title }
    }

    static let planCases: [PlanCase] = [
        PlanCase(title: "outside range", metas: [meta(1, 0, 20)], expected: []),
        PlanCase(title: "wait for four blocks of size 20", metas: [meta(1, 0, 20), meta(2, 20, 40)], expected: []),
        PlanCase(title: "three, but the fresh one is ignored",
                 metas: [meta(1, 0, 20), meta(2, 20, 40), meta(3, 40, 60)], expected: []),
        PlanCase(title: "block filling the parent range appeared",
                 metas: [meta(1, 0, 20), meta(2, 20, 40), meta(3, 40, 60), meta(4, 60, 80)], expected: [1, 2, 3]),
        PlanCase(title: "next parent range appeared with a gap, fresh one ignored",
                 metas: [meta(1, 0, 20), meta(2, 20, 40), meta(3, 60, 80)], expected: []),
        PlanCase(title: "gap between second and third: compact the two",
                 metas: [meta(1, 0, 20), meta(2, 20, 40), meta(3, 60, 80), meta(4, 80, 100)], expected: [1, 2]),
        PlanCase(title: "20, 20, 20, 60, 60 with 5 fresh",
                 metas: [meta(1, 0, 20), meta(2, 20, 40), meta(3, 40, 60), meta(4, 60, 120), meta(5, 120, 180)],
                 expected: [1, 2, 3]),
        PlanCase(title: "20, 60, 20, 60, 240: compact 20 + 60 + 60",
                 metas: [meta(2, 20, 40), meta(4, 60, 120), meta(5, 960, 980), meta(6, 120, 180), meta(7, 720, 960)],
                 expected: [2, 4, 6]),
        PlanCase(title: "large block with many tombstones, no fresh block",
                 metas: [meta(1, 0, 540, series: 10, tombstones: 3)], expected: []),
        PlanCase(title: "large block with many tombstones, fresh block appeared",
                 metas: [meta(1, 0, 540, series: 10, tombstones: 3), meta(2, 540, 560)], expected: [1]),
        PlanCase(title: "small block with tombstones is not rewritten",
                 metas: [meta(1, 0, 60, series: 10, tombstones: 3), meta(2, 60, 80)], expected: []),
        PlanCase(title: "regression: zero tombstones and zero series",
                 metas: [meta(1, 0, 540), meta(2, 540, 560)], expected: []),
        PlanCase(title: "regression: the fresh block is the one with the greatest minTime, not ULID",
                 metas: [meta(5, 0, 360), meta(6, 540, 560), meta(7, 360, 420), meta(8, 420, 540)], expected: [7, 8]),
        PlanCase(title: "overlapping blocks 1", metas: [meta(1, 0, 20), meta(2, 19, 40), meta(3, 40, 60)], expected: [1, 2]),
        PlanCase(title: "overlapping blocks 2", metas: [meta(1, 0, 20), meta(2, 20, 40), meta(3, 30, 50)], expected: [2, 3]),
        PlanCase(title: "overlapping blocks 3", metas: [meta(1, 0, 20), meta(2, 10, 40), meta(3, 30, 50)], expected: [1, 2, 3]),
        PlanCase(title: "overlapping blocks 4",
                 metas: [meta(5, 0, 360), meta(6, 340, 560), meta(7, 360, 420), meta(8, 420, 540)], expected: [5, 6, 7, 8]),
        PlanCase(title: "overlapping blocks 5",
                 metas: [meta(1, 0, 10), meta(2, 9, 20), meta(3, 30, 40), meta(4, 39, 50)], expected: [1, 2]),
        // Beyond Prometheus's table: a small block whose every series is deleted is rewritten.
        PlanCase(title: "small block, everything deleted",
                 metas: [meta(1, 0, 60, series: 3, tombstones: 3), meta(2, 60, 80)], expected: [1]),
    ]

    @Test(arguments: planCases)
    func prometheusPlan(_ c: PlanCase) {
        #expect(Self.names(Self.planner.plan(c.metas)) == c.expected)
    }

    @Test func failedCompactionRangeIsNotSelected() {
        let planner = CompactionPlanner(ranges: [20, 60, 240, 720, 2160])
        let cases: [[BlockMeta]] = [
            [Self.meta(1, 0, 20), Self.meta(2, 20, 40), Self.meta(3, 40, 60), Self.meta(4, 60, 80)],
            [Self.meta(1, 0, 20), Self.meta(2, 20, 40), Self.meta(3, 60, 80), Self.meta(4, 80, 100)],
            [Self.meta(1, 0, 20), Self.meta(2, 20, 40), Self.meta(3, 40, 60), Self.meta(4, 60, 120),
             Self.meta(5, 120, 180), Self.meta(6, 180, 200)],
        ]
        for var metas in cases {
            metas[1].compaction.failed = true
            #expect(planner.plan(metas).isEmpty, "\(Self.names(metas))")
        }
    }

    @Test func noPanicForZeroTombstonesWithOneRange() {
        let planner = CompactionPlanner(ranges: [50])
        #expect(planner.plan([Self.meta(1, 0, 100), Self.meta(2, 101, 200)]).isEmpty)
    }

    @Test func splitByRange() {
        let cases: [(range: Int64, input: [(Int64, Int64)], output: [[(Int64, Int64)]])] = [
            (60, [(0, 10)], [[(0, 10)]]),
            (60, [(0, 60)], [[(0, 60)]]),
            (60, [(0, 10), (9, 15), (30, 60)], [[(0, 10), (9, 15), (30, 60)]]),
            (60, [(70, 90), (125, 130), (130, 180), (1000, 1001)], [[(70, 90)], [(125, 130), (130, 180)], [(1000, 1001)]]),
            (60, [(50, 70), (70, 80)], [[(70, 80)]]),
            (72, [(0, 144), (144, 216), (216, 288)], [[(144, 216)], [(216, 288)]]),
            (60, [(-10, -5)], [[(-10, -5)]]),
            (60, [(-60, -50), (-10, -5)], [[(-60, -50), (-10, -5)]]),
            (60, [(-60, -50), (-10, -5), (0, 15)], [[(-60, -50), (-10, -5)], [(0, 15)]]),
        ]
        for c in cases {
            let metas = c.input.enumerated().map { Self.meta($0.offset, $0.element.0, $0.element.1) }
            let got = CompactionPlanner.splitByRange(metas, c.range).map { $0.map { [$0.minTime, $0.maxTime] } }
            #expect(got == c.output.map { $0.map { [$0.0, $0.1] } }, "range \(c.range), input \(c.input)")
        }
    }

    @Test func blockRangesFollowPrometheus() {
        let h: Int64 = 3_600_000
        // Default server: 15 d retention, so at most 1.5 d.
        #expect(CompactionPlanner.blockRanges(retention: 15 * 24 * h) == [2 * h, 6 * h, 18 * h])
        // No time retention: at most 31 days.
        #expect(CompactionPlanner.blockRanges(retention: nil) == [2 * h, 6 * h, 18 * h, 54 * h, 162 * h, 486 * h])
        // A year of retention is still capped at 31 days.
        #expect(CompactionPlanner.blockRanges(retention: 365 * 24 * h) == [2 * h, 6 * h, 18 * h, 54 * h, 162 * h, 486 * h])
        // Short retention: only the smallest range, so nothing is compacted.
        #expect(CompactionPlanner.blockRanges(retention: 24 * h) == [2 * h])
        #expect(CompactionPlanner.blockRanges(maxBlockDuration: 1) == [2 * h])
        // The ten steps of ExponentialBlockRanges(2h, 10, 3) when nothing caps them.
        #expect(CompactionPlanner.blockRanges(maxBlockDuration: .max).count == 10)
        #expect(CompactionPlanner.blockRanges(maxBlockDuration: .max).last == 2 * h * 19_683)
    }
}
