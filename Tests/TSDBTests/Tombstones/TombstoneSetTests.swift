import Testing
import TSDBTestSupport

@testable import TSDB

/// The in-memory tombstones: interval merging as Prometheus's `Intervals.Add`.
@Suite(.heavy) struct TombstoneSetTests {
    static func iv(_ a: Int64, _ b: Int64) -> TombstoneInterval { TombstoneInterval(minTime: a, maxTime: b) }

    static func adding(_ intervals: [(Int64, Int64)]) -> [TombstoneInterval] {
        var out: [TombstoneInterval] = []
        for (a, b) in intervals { out.add(iv(a, b)) }
        return out
    }

    /// The cases of Prometheus's `TestAddingNewIntervals` (tsdb/tombstones/tombstones_test.go),
    /// then ours: adjacency at both ends, and `maxTime == .max` after the first interval,
    /// where Prometheus's current `Add` indexes out of range.
    @Test(arguments: [
        ([], (1, 2), [(1, 2)]),
        ([(1, 2)], (1, 2), [(1, 2)]),
        ([(1, 4), (6, 6)], (5, 6), [(1, 6)]),
        ([(1, 10), (12, 20), (25, 30)], (21, 25), [(1, 10), (12, 30)]),
        ([(1, 10), (12, 20), (25, 30)], (22, 23), [(1, 10), (12, 20), (22, 23), (25, 30)]),
        ([(1, 2), (3, 5), (7, 7)], (6, 7), [(1, 2), (3, 7)]),
        ([(1, 10), (12, 20), (25, 30)], (18, 23), [(1, 10), (12, 23), (25, 30)]),
        ([(1, 10), (12, 20), (25, 30)], (9, 23), [(1, 23), (25, 30)]),
        ([(1, 10), (12, 20), (25, 30)], (9, 230), [(1, 230)]),
        ([(5, 10), (12, 20), (25, 30)], (1, 4), [(1, 10), (12, 20), (25, 30)]),
        ([(5, 10), (12, 20), (25, 30)], (11, 14), [(5, 20), (25, 30)]),
        ([(5, 10), (12, 20), (25, 30)], (1, 3), [(1, 3), (5, 10), (12, 20), (25, 30)]),
        ([(5, 10), (12, 20), (25, 30)], (35, 40), [(5, 10), (12, 20), (25, 30), (35, 40)]),
        ([], (Int64.min, 2), [(Int64.min, 2)]),
        ([(Int64.min, 2)], (9, Int64.max), [(Int64.min, 2), (9, Int64.max)]),
        ([(9, Int64.max)], (Int64.min, 2), [(Int64.min, 2), (9, Int64.max)]),
        ([(9, Int64.max)], (Int64.min, 10), [(Int64.min, Int64.max)]),
        ([(9, 10)], (Int64.min, 7), [(Int64.min, 7), (9, 10)]),
        ([(9, 10)], (12, Int64.max), [(9, 10), (12, Int64.max)]),
        ([(9, 10)], (Int64.min, 8), [(Int64.min, 10)]),
        ([(9, 10)], (11, Int64.max), [(9, Int64.max)]),
        // Ours.
        ([(5, 10), (12, 20), (25, 30)], (11, 11), [(5, 20), (25, 30)]),
        ([(5, 10), (12, 20), (25, 30)], (31, 40), [(5, 10), (12, 20), (25, 40)]),
        ([(5, 10), (12, 20), (25, 30)], (Int64.min, 11), [(Int64.min, 20), (25, 30)]),
        ([(5, 10), (12, 20), (25, 30)], (21, Int64.max), [(5, 10), (12, Int64.max)]),
        ([(5, 10), (12, 20), (25, 30)], (Int64.min, Int64.max), [(Int64.min, Int64.max)]),
        ([(Int64.min, Int64.max)], (3, 4), [(Int64.min, Int64.max)]),
    ] as [([(Int64, Int64)], (Int64, Int64), [(Int64, Int64)])])
    func addMergesLikePrometheus(existing: [(Int64, Int64)], new: (Int64, Int64), expected: [(Int64, Int64)]) {
        var intervals = existing.map { Self.iv($0.0, $0.1) }
        intervals.add(Self.iv(new.0, new.1))
        #expect(intervals == expected.map { Self.iv($0.0, $0.1) })
    }

    /// Against a bitmap model over a small time range: the result is sorted, disjoint,
    /// never adjacent, and covers exactly the union of what was added.
    @Test func randomAddsMatchABitmapModel() {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<500 {
            var intervals: [TombstoneInterval] = []
            var covered = [Bool](repeating: false, count: 64)
            for _ in 0..<Int(rng.next() % 12) {
                let a = Int64(rng.next() % 60), b = a + Int64(rng.next() % 5)
                intervals.add(Self.iv(a, b))
                for t in a...b { covered[Int(t)] = true }
            }
            var model: [TombstoneInterval] = []
            for t in 0..<64 where covered[t] {
                if let last = model.last, last.maxTime == Int64(t) - 1 { model[model.count - 1].maxTime = Int64(t) }
                else { model.append(Self.iv(Int64(t), Int64(t))) }
            }
            #expect(intervals == model, "seed \(rng.seed)")
            for t in 0..<64 { #expect(TombstoneInterval.isDeleted(Int64(t), in: intervals) == covered[t]) }
        }
    }

    @Test func setOperations() {
        var set = TombstoneSet()
        #expect(set.isEmpty && set.intervalCount == 0 && set.get(1).isEmpty)
        set.add(ref: 9, Self.iv(10, 20))
        set.add(ref: 2, Self.iv(5, 5))
        set.add(ref: 9, Self.iv(21, 30))
        set.add(ref: 9, Self.iv(40, 50))
        set.add(ref: .max, Self.iv(.min, .max))
        #expect(set.get(9) == [Self.iv(10, 30), Self.iv(40, 50)])
        #expect(set.seriesCount == 3 && set.intervalCount == 4)
        #expect(set.map(\.ref) == [2, 9, .max])
        #expect(set.isDeleted(ref: 9, at: 30) && !set.isDeleted(ref: 9, at: 31) && !set.isDeleted(ref: 3, at: 5))
        #expect(set.isDeleted(ref: .max, at: .min))

        var truncated = set
        truncated.truncate(before: 35)
        #expect(truncated.get(9) == [Self.iv(40, 50)] && truncated.get(2).isEmpty && truncated.seriesCount == 2)
        truncated.truncate(before: 30)  // nothing ends before 30 any more
        #expect(truncated.get(9) == [Self.iv(40, 50)])

        set.remove(refs: [9, 2, 77])
        #expect(set.map(\.ref) == [.max])
    }
}
