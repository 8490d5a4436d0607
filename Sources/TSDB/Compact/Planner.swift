/// Chooses which blocks to compact next, as Prometheus 2.42's `LeveledCompactor.Plan`
/// (tsdb/compact.go) does, so that a data directory shared with Prometheus evolves the same
/// way under either engine (FORMAT.md §12.1).
///
/// A plan is a list of blocks to merge into one; empty means nothing to do. Preference, first
/// match wins:
/// 1. **Overlap.** Blocks sorted by `minTime`; the first run of blocks that overlap in time
///    (each one starting before the latest end seen so far) is merged — vertical compaction.
/// 2. **Levels.** The block with the greatest `minTime` is set aside (the one just cut from
///    the head). For each range after the first (6 h, 18 h, …), the rest are split into
///    groups by aligned windows of that range; the first group of two or more blocks, none
///    marked `failed`, that spans the whole window or ends at or before the set-aside block's
///    start is merged.
/// 3. **Tombstones.** From the newest down, among blocks other than the set-aside one: a
///    block at least as wide as the middle range (`ranges[ranges.count / 2]`) with
///    `numTombstones / (numSeries + 1) > 0.05` is rewritten alone; the walk stops at the
///    first narrower block, which is itself rewritten only if it has tombstones and at least
///    as many as series (everything deleted).
///
/// Pure and thread-safe; costs O(n log n) in the number of blocks per range.
struct CompactionPlanner: Sendable {
    /// Block ranges in milliseconds, smallest first (e.g. ``blockRanges(minBlockDuration:maxBlockDuration:)``).
    let ranges: [Int64]

    init(ranges: [Int64]) {
        self.ranges = ranges
    }

    /// The blocks to compact next, in the order they are to be merged (by `minTime`, ties
    /// kept in input order), or `[]`. Give the metas in directory (ULID) order, as
    /// Prometheus reads them; `ranges` must not be empty.
    func plan(_ metas: [BlockMeta]) -> [BlockMeta] {
        guard !metas.isEmpty, !ranges.isEmpty else { return [] }
        // Stable, as Go's insertion sort is for the few blocks a directory holds.
        let sorted = metas.enumerated().sorted { a, b in
            a.element.minTime != b.element.minTime ? a.element.minTime < b.element.minTime : a.offset < b.offset
        }.map(\.element)

        let overlapping = Self.selectOverlapping(sorted)
        if !overlapping.isEmpty { return overlapping }

        // The newest block (greatest minTime) is left alone: it was just cut from the head.
        let candidates = Array(sorted.dropLast())
        let leveled = selectLeveled(candidates)
        if !leveled.isEmpty { return leveled }

        for meta in candidates.reversed() {
            if meta.maxTime - meta.minTime < ranges[ranges.count / 2] {
                // A small block is rewritten only when everything in it is deleted; Prometheus
                // assumes one tombstone per series here.
                if meta.stats.numTombstones > 0 && meta.stats.numTombstones >= meta.stats.numSeries {
                    return [meta]
                }
                break
            }
            if Double(meta.stats.numTombstones) / Double(meta.stats.numSeries + 1) > 0.05 {
                return [meta]
            }
        }
        return []
    }

    /// The first run of overlapping blocks in `sorted` (by `minTime`), in input order; `[]`
    /// if no two blocks overlap. Prometheus's `selectOverlappingDirs`.
    static func selectOverlapping(_ sorted: [BlockMeta]) -> [BlockMeta] {
        guard sorted.count >= 2 else { return [] }
        var run: [BlockMeta] = []
        var latestEnd = sorted[0].maxTime
        for i in 1..<sorted.count {
            let meta = sorted[i]
            if meta.minTime < latestEnd {
                if run.isEmpty { run.append(sorted[i - 1]) }
                run.append(meta)
            } else if !run.isEmpty {
                break
            }
            latestEnd = max(latestEnd, meta.maxTime)
        }
        return run
    }

    /// Prometheus's `selectDirs`: the first group, over the ranges after the smallest, that
    /// fills its aligned window or lies wholly before the newest candidate's start.
    func selectLeveled(_ sorted: [BlockMeta]) -> [BlockMeta] {
        guard ranges.count >= 2, let newest = sorted.last else { return [] }
        let highTime = newest.minTime
        for range in ranges.dropFirst() {
            for group in Self.splitByRange(sorted, range) {
                if group.contains(where: { $0.compaction.failed }) { continue }
                guard let first = group.first, let last = group.last else { continue }
                if group.count > 1 && (last.maxTime - first.minTime == range || last.maxTime <= highTime) {
                    return group
                }
            }
        }
        return []
    }

    /// Groups `sorted` (by `minTime`) by aligned windows `[t0, t0 + range]`, windows counted
    /// from 0 (rounded down for negative times). A block that does not fit the window of its
    /// own start — misaligned, or wider than `range` — is skipped. Prometheus's `splitByRange`.
    static func splitByRange(_ sorted: [BlockMeta], _ range: Int64) -> [[BlockMeta]] {
        var groups: [[BlockMeta]] = []
        var i = 0
        while i < sorted.count {
            let meta = sorted[i]
            let t0 = meta.minTime >= 0
                ? range * (meta.minTime / range)
                : range * ((meta.minTime - range + 1) / range)
            if meta.maxTime > t0 + range {
                i += 1
                continue
            }
            var group: [BlockMeta] = []
            while i < sorted.count && sorted[i].maxTime <= t0 + range {
                group.append(sorted[i])
                i += 1
            }
            if !group.isEmpty { groups.append(group) }
        }
        return groups
    }

    // MARK: - Ranges

    /// Two hours in milliseconds: Prometheus's `DefaultBlockDuration`.
    static let defaultMinBlockDuration: Int64 = 2 * 3_600_000
    /// 31 days in milliseconds: the cap Prometheus's server puts on the largest block.
    static let maxBlockDurationCap: Int64 = 31 * 24 * 3_600_000

    /// The block ranges as Prometheus builds them: `ExponentialBlockRanges(min, 10, 3)` —
    /// `min`, `3·min`, `9·min`, … ten values — cut before the first one larger than
    /// `maxBlockDuration` (tsdb/db.go `open`). A `maxBlockDuration` below `min` is raised to
    /// `min` (db.go `validateOpts`), so the list always holds at least `min`.
    static func blockRanges(minBlockDuration: Int64 = defaultMinBlockDuration, maxBlockDuration: Int64) -> [Int64] {
        let maxDuration = max(maxBlockDuration, minBlockDuration)
        var ranges: [Int64] = []
        var current = minBlockDuration
        for _ in 0..<10 {
            if current > maxDuration { break }
            ranges.append(current)
            let (next, overflow) = current.multipliedReportingOverflow(by: 3)
            if overflow { break }
            current = next
        }
        return ranges
    }

    /// The largest block duration Prometheus's server chooses when none is configured
    /// (cmd/prometheus/main.go): 31 days, or a tenth of the time retention when that is
    /// smaller. `retention` nil or 0 means no time retention (31 days then).
    static func maxBlockDuration(retention: Int64?) -> Int64 {
        guard let retention, retention > 0 else { return maxBlockDurationCap }
        return min(maxBlockDurationCap, retention / 10)
    }

    /// ``blockRanges(minBlockDuration:maxBlockDuration:)`` for a time retention, as a
    /// Prometheus server with default flags computes them: with the default 15 d retention,
    /// 2 h, 6 h, 18 h (54 h exceeds 1.5 d).
    static func blockRanges(minBlockDuration: Int64 = defaultMinBlockDuration, retention: Int64?) -> [Int64] {
        blockRanges(minBlockDuration: minBlockDuration, maxBlockDuration: maxBlockDuration(retention: retention))
    }
}
