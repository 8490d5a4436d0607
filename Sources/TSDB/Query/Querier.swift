/// Reads the database over a fixed time range `[minTime, maxTime]` (milliseconds, inclusive).
///
/// Thread-safe, and cheap to create. Each ``select(_:)`` sees the data as of one instant
/// between commits, so never half a transaction.
public final class Querier: Sendable {
    public let minTime: Int64
    public let maxTime: Int64
    private let head: Head

    init(head: Head, minTime: Int64, maxTime: Int64) {
        self.head = head
        self.minTime = minTime
        self.maxTime = maxTime
    }

    /// The series matching all `matchers` with at least one sample in range, sorted by labels.
    /// - Throws: ``TSDBError/Code/invalidArgument`` when `matchers` is empty.
    public func select(_ matchers: [Matcher]) throws(TSDBError) -> [Series] {
        guard !matchers.isEmpty else { throw TSDBError(.invalidArgument, "select needs at least one matcher") }
        return head.select(matchers, minTime: minTime, maxTime: maxTime)
    }

    /// `select` with a PromQL selector such as `up{job="api"}`.
    public func select(_ selector: String) throws(TSDBError) -> [Series] {
        try select(Selector.parse(selector))
    }

    /// Sorted label names of the series matching `matchers`, or of all series.
    public func labelNames(matching matchers: [Matcher] = []) -> [String] {
        guard overlapsHead else { return [] }
        return head.labelNames(matching: matchers)
    }

    /// Sorted values of label `name` among the series matching `matchers`, or all series.
    public func labelValues(_ name: String, matching matchers: [Matcher] = []) -> [String] {
        guard overlapsHead else { return [] }
        return head.labelValues(name, matching: matchers)
    }

    private var overlapsHead: Bool {
        let lo = head.minTime
        let hi = head.maxTime
        return lo <= hi && hi >= minTime && lo <= maxTime
    }
}
