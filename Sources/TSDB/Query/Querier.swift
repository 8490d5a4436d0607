/// Reads the database over a fixed time range `[minTime, maxTime]` (milliseconds, inclusive):
/// the head and every block overlapping the range.
///
/// Thread-safe, and cheap to create. Each ``select(_:)`` sees the head as of one instant
/// between commits, so never half a transaction. The querier keeps the blocks it reads
/// open until it is released, even if the database is closed meanwhile; a block that
/// compaction or retention deletes meanwhile is replaced by the blocks now holding its data.
public final class Querier: Sendable {
    public let minTime: Int64
    public let maxTime: Int64
    private let head: Head
    private let blocks: [Block]
    /// The database's blocks now, to catch blocks cut after this querier was made.
    private let currentBlocks: @Sendable () -> [Block]

    init(head: Head, blocks: [Block], minTime: Int64, maxTime: Int64, currentBlocks: @escaping @Sendable () -> [Block] = { [] }) {
        self.head = head
        self.blocks = blocks
        self.currentBlocks = currentBlocks
        self.minTime = minTime
        self.maxTime = maxTime
    }

    /// The series matching all `matchers` with at least one sample in range, sorted by
    /// labels; a series stored in several blocks and the head comes back once, its samples
    /// merged (identical timestamps once).
    /// - Throws: ``TSDBError/Code/invalidArgument`` when `matchers` is empty, and
    ///   ``TSDBError/Code/corruption`` when a block's bytes are damaged.
    public func select(_ matchers: [Matcher]) throws(TSDBError) -> [Series] {
        guard !matchers.isEmpty else { throw TSDBError(.invalidArgument, "select needs at least one matcher") }
        // The head first, then the blocks: a block cut in between holds what the head let go
        // of, and samples found in both are read once.
        let fromHead = head.select(matchers, minTime: minTime, maxTime: maxTime)
        var lists: [[Series]] = []
        try forEachBlock { (b) throws(TSDBError) in lists.append(try b.select(matchers, minTime: minTime, maxTime: maxTime)) }
        lists.append(fromHead)
        return try SeriesMerge.merge(lists, minTime: minTime, maxTime: maxTime)
    }

    /// `select` with a PromQL selector such as `up{job="api"}`.
    public func select(_ selector: String) throws(TSDBError) -> [Series] {
        try select(Selector.parse(selector))
    }

    /// Sorted label names of the series matching `matchers`, or of all series.
    public func labelNames(matching matchers: [Matcher] = []) throws(TSDBError) -> [String] {
        var lists: [[String]] = []
        if overlapsHead { lists.append(head.labelNames(matching: matchers)) }
        try forEachBlock { (b) throws(TSDBError) in lists.append(try b.labelNames(matching: matchers)) }
        return ByteString.mergeSorted(lists)
    }

    /// Sorted values of label `name` among the series matching `matchers`, or all series.
    public func labelValues(_ name: String, matching matchers: [Matcher] = []) throws(TSDBError) -> [String] {
        var lists: [[String]] = []
        if overlapsHead { lists.append(head.labelValues(name, matching: matchers)) }
        try forEachBlock { (b) throws(TSDBError) in lists.append(try b.labelValues(name, matching: matchers)) }
        return ByteString.mergeSorted(lists)
    }

    /// Runs `body` on each of ``relevantBlocks()``. A block closed since it was listed
    /// (compaction, retention or a tombstone cleanup deleted it) is skipped and the list
    /// taken again: whatever block took over its data was published before it was closed,
    /// so the new list has it. (Without this a query racing a deletion failed with
    /// `.closed`, which the soak found.)
    private func forEachBlock(_ body: (Block) throws(TSDBError) -> Void) throws(TSDBError) {
        var done = Set<ObjectIdentifier>()
        var again = true
        while again {
            again = false
            for b in relevantBlocks() where done.insert(ObjectIdentifier(b)).inserted {
                do throws(TSDBError) {
                    try body(b)
                } catch where error.code == .closed {
                    again = true
                }
            }
        }
    }

    /// The blocks taken at creation plus any cut since, overlapping the range, by start.
    private func relevantBlocks() -> [Block] {
        var seen = Set(blocks.map(ObjectIdentifier.init))
        var out = blocks
        for b in currentBlocks() where b.meta.minTime <= maxTime && b.meta.maxTime > minTime {
            if seen.insert(ObjectIdentifier(b)).inserted { out.append(b) }
        }
        return out
    }

    private var overlapsHead: Bool {
        let lo = head.minTime
        let hi = head.maxTime
        return lo <= hi && hi >= minTime && lo <= maxTime
    }
}
