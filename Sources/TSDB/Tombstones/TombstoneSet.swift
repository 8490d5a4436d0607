/// A closed range of deleted timestamps, `minTime...maxTime`, both ends included:
/// Prometheus's `tombstones.Interval`.
package struct TombstoneInterval: Hashable, Sendable, CustomStringConvertible {
    package var minTime: Int64
    package var maxTime: Int64

    init(minTime: Int64, maxTime: Int64) {
        self.minTime = minTime
        self.maxTime = maxTime
    }

    /// Whether `t` lies in the interval (Prometheus's `InBounds`).
    func contains(_ t: Int64) -> Bool { t >= minTime && t <= maxTime }

    package var description: String { "[\(minTime), \(maxTime)]" }

    /// Whether `t` lies in any of `intervals`; they need not be sorted. O(n).
    static func isDeleted(_ t: Int64, in intervals: [TombstoneInterval]) -> Bool {
        intervals.contains { $0.contains(t) }
    }
}

extension Array where Element == TombstoneInterval {
    /// Adds `new` to intervals that are sorted, disjoint and not adjacent, keeping them so:
    /// it merges with every interval it overlaps or touches (`maxTime + 1 == minTime`, as
    /// timestamps are whole milliseconds). O(log n) to find the place, O(n) to shift.
    ///
    /// The same steps as Prometheus's `Intervals.Add`, so results agree on any input,
    /// including intervals with `minTime > maxTime`. Two Prometheus faults are left out:
    /// 2.42 wraps around at `minTime == .min` and `maxTime == .max` and merges wrongly;
    /// later versions guard that but index out of range (a panic) when `maxTime == .max`
    /// and `new` starts after the first interval.
    mutating func add(_ new: TombstoneInterval) {
        guard !isEmpty else { return append(new) }
        var lower = 0  // first interval that ends at or after new.minTime - 1
        if new.minTime != .min {
            lower = partitionIndex { $0.maxTime >= new.minTime - 1 }
            if lower == count { return append(new) }
        }
        var upper = count  // first interval from `lower` on that starts after new.maxTime + 1
        if new.maxTime != .max {
            upper = self[lower...].partitionIndex { $0.minTime > new.maxTime + 1 }
            if upper == lower { return insert(new, at: lower) }
        }
        if new.minTime < self[lower].minTime { self[lower].minTime = new.minTime }
        self[lower].maxTime = Swift.max(new.maxTime, self[upper - 1].maxTime)
        removeSubrange((lower + 1)..<upper)
    }
}

extension Collection where Index == Int {
    /// The first index whose element satisfies `predicate`, which must be false for a
    /// prefix and true for the rest (Go's `sort.Search`); `endIndex` if none does.
    fileprivate func partitionIndex(where predicate: (Element) -> Bool) -> Int {
        var low = startIndex, high = endIndex
        while low < high {
            let mid = low + (high - low) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

/// Deleted time ranges by series reference: Prometheus's `MemTombstones`. Every series'
/// intervals are kept sorted and merged by ``Swift/Array/add(_:)``. Iteration goes in
/// ascending reference order.
///
/// A value type without locking: the owner (a block, the head) serialises access.
package struct TombstoneSet: Hashable, Sendable, Sequence {
    private var intervalsByRef: [UInt64: [TombstoneInterval]] = [:]

    init() {}

    /// Builds a set by adding every `(ref, interval)` pair in order.
    init(_ stones: some Sequence<(ref: UInt64, interval: TombstoneInterval)>) {
        for stone in stones { add(ref: stone.ref, stone.interval) }
    }

    /// Marks `interval` of series `ref` as deleted.
    mutating func add(ref: UInt64, _ interval: TombstoneInterval) {
        intervalsByRef[ref, default: []].add(interval)
    }

    /// The sorted, merged intervals of `ref`; empty if it has none.
    func get(_ ref: UInt64) -> [TombstoneInterval] {
        intervalsByRef[ref] ?? []
    }

    /// Whether sample `t` of series `ref` is deleted (Prometheus's `IsDeletedAt`).
    func isDeleted(ref: UInt64, at t: Int64) -> Bool {
        guard let intervals = intervalsByRef[ref] else { return false }
        return TombstoneInterval.isDeleted(t, in: intervals)
    }

    var isEmpty: Bool { intervalsByRef.isEmpty }

    /// Number of series with tombstones.
    var seriesCount: Int { intervalsByRef.count }

    /// Number of intervals over all series: Prometheus's `Total()`, which a block records
    /// as `meta.json`'s `stats.numTombstones`.
    var intervalCount: Int { intervalsByRef.values.reduce(0) { $0 + $1.count } }

    /// Drops the tombstones of `refs` (Prometheus's `DeleteTombstones`).
    mutating func remove(refs: some Sequence<UInt64>) {
        for ref in refs { intervalsByRef[ref] = nil }
    }

    /// Drops each series' intervals up to and including the last one that ends before `t`,
    /// and series left with none (Prometheus's `TruncateBefore`).
    mutating func truncate(before t: Int64) {
        for (ref, intervals) in intervalsByRef {
            guard let last = intervals.lastIndex(where: { $0.maxTime < t }) else { continue }
            intervalsByRef[ref] = last == intervals.count - 1 ? nil : Array(intervals[(last + 1)...])
        }
    }

    /// `(ref, intervals)` in ascending `ref` order. Sorts the references: O(n log n).
    package func makeIterator() -> some IteratorProtocol<(ref: UInt64, intervals: [TombstoneInterval])> {
        intervalsByRef.sorted { $0.key < $1.key }.lazy.map { (ref: $0.key, intervals: $0.value) }.makeIterator()
    }
}
