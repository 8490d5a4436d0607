/// Which blocks retention deletes (FORMAT.md §12, README "How the size is counted").
///
/// Pure functions over metas and sizes; ``Maintenance`` applies them.
enum Retention {
    /// Blocks wholly older than `newest − retention`: those whose end (exclusive) is at or
    /// before it. `newest` is the newest sample in blocks or head. Prometheus measures from
    /// the newest block's end instead, which keeps up to a block range more; measuring from
    /// the newest data is what "keep the last 15 days" means to an operator.
    static func beyondTime(_ metas: [BlockMeta], newest: Int64, retention: Int64) -> Set<ULID> {
        let (cutoff, overflow) = newest.subtractingReportingOverflow(retention)
        guard !overflow else { return [] }
        return Set(metas.filter { $0.maxTime <= cutoff }.map(\.ulid))
    }

    /// The oldest blocks to delete so that `otherBytes` (WAL and anything else not in a
    /// block) plus `reserve` (room for a block about to be written) plus the blocks kept is
    /// at most `limit`, as Prometheus's `BeyondSizeRetention`: walking from the newest block
    /// (greatest `maxTime`) to the oldest, the first block that brings the total over the
    /// limit is deleted with every older one.
    static func beyondSize(
        _ blocks: [(meta: BlockMeta, bytes: Int64)], otherBytes: Int64, reserve: Int64, limit: Int64
    ) -> Set<ULID> {
        let newestFirst = blocks.sorted { ($0.meta.maxTime, $0.meta.ulid) > ($1.meta.maxTime, $1.meta.ulid) }
        var total = otherBytes + reserve
        var doomed = Set<ULID>()
        for b in newestFirst {
            total += b.bytes
            if total > limit || !doomed.isEmpty { doomed.insert(b.meta.ulid) }
        }
        return doomed
    }
}
