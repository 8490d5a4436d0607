/// Reads the database over a fixed time range `[minTime, maxTime]` (milliseconds, inclusive):
/// the head and every block overlapping the range.
///
/// Thread-safe, and cheap to create. Each ``select(_:)`` sees the head as of one instant
/// between commits, so never half a transaction. The querier keeps the blocks it reads
/// open until it is released, even if the database is closed meanwhile.
public final class Querier: Sendable {
    public let minTime: Int64
    public let maxTime: Int64
    private let head: Head
    private let blocks: [Block]

    init(head: Head, blocks: [Block], minTime: Int64, maxTime: Int64) {
        self.head = head
        self.blocks = blocks
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
        var lists: [[Series]] = []
        lists.reserveCapacity(blocks.count + 1)
        for b in blocks { lists.append(try b.select(matchers, minTime: minTime, maxTime: maxTime)) }
        lists.append(head.select(matchers, minTime: minTime, maxTime: maxTime))
        return try SeriesMerge.merge(lists, minTime: minTime, maxTime: maxTime)
    }

    /// `select` with a PromQL selector such as `up{job="api"}`.
    public func select(_ selector: String) throws(TSDBError) -> [Series] {
        try select(Selector.parse(selector))
    }

    /// Sorted label names of the series matching `matchers`, or of all series.
    public func labelNames(matching matchers: [Matcher] = []) throws(TSDBError) -> [String] {
        var names = Set<ByteString>()
        if overlapsHead { for n in head.labelNames(matching: matchers) { names.insert(ByteString(n)) } }
        for b in blocks { for n in try b.labelNames(matching: matchers) { names.insert(ByteString(n)) } }
        return names.sorted().map(\.string)
    }

    /// Sorted values of label `name` among the series matching `matchers`, or all series.
    public func labelValues(_ name: String, matching matchers: [Matcher] = []) throws(TSDBError) -> [String] {
        var values = Set<ByteString>()
        if overlapsHead { for v in head.labelValues(name, matching: matchers) { values.insert(ByteString(v)) } }
        for b in blocks { for v in try b.labelValues(name, matching: matchers) { values.insert(ByteString(v)) } }
        return values.sorted().map(\.string)
    }

    private var overlapsHead: Bool {
        let lo = head.minTime
        let hi = head.maxTime
        return lo <= hi && hi >= minTime && lo <= maxTime
    }
}
