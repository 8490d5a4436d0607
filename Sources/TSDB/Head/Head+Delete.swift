import Synchronization

/// The head's deletions: tombstone intervals by series reference, applied when the head is
/// queried or cut into a block, and dropped with the data they cover when the head is
/// truncated (so they never outlive it: Prometheus issue 9108).
final class HeadTombstones: Sendable {
    private let stones = Mutex(TombstoneSet())

    func add(_ new: some Sequence<RefTombstone>) {
        stones.withLock { s in
            for t in new { s.add(ref: t.ref, TombstoneInterval(minTime: t.minTime, maxTime: t.maxTime)) }
        }
    }

    /// The intervals deleted from series `ref`, sorted and disjoint.
    func get(_ ref: UInt64) -> [TombstoneInterval] { stones.withLock { $0.get(ref) } }

    /// Everything, for tests and snapshots.
    var snapshot: TombstoneSet { stones.withLock { $0 } }
    var isEmpty: Bool { stones.withLock { $0.isEmpty } }
    var intervalCount: Int { stones.withLock { $0.intervalCount } }

    /// After a truncation below `minTime`: drops intervals that end before it and the
    /// series that left the head.
    func truncate(before minTime: Int64, removed refs: some Sequence<UInt64>) {
        stones.withLock { s in
            s.remove(refs: refs)
            s.truncate(before: minTime)
        }
    }
}

extension Head {
    /// The tombstones a deletion of `[minTime, maxTime]` from the series matching `matchers`
    /// adds: one per series with samples in the range, clamped to the series' samples (as
    /// Prometheus clamps), so samples appended later into the range stay visible.
    func deletionStones(_ matchers: [Matcher], minTime: Int64, maxTime: Int64) -> [RefTombstone] {
        commitGate.withWriteLock {
            var out: [RefTombstone] = []
            for ref in PostingsForMatchers.resolve(matchers, in: postings) {
                guard let s = series.lookup(ref)?.takeUnretainedValue() else { continue }
                guard let (lo, hi) = s.state.withLock({ $0.timeRange }) else { continue }
                let t0 = Swift.max(minTime, lo)
                let t1 = Swift.min(maxTime, hi)
                if t0 <= t1 { out.append(RefTombstone(ref: ref, minTime: t0, maxTime: t1)) }
            }
            return out
        }
    }

    /// Writes `stones` to the WAL (so the deletion survives a restart), then applies them.
    func delete(_ stones: [RefTombstone], wal: WAL) throws(TSDBError) {
        guard !stones.isEmpty else { return }
        var out = ByteWriter(capacity: 1 + stones.count * 24)
        RecordEncoder.tombstones(stones, into: &out)
        try wal.log([out.bytes])
        // Applied while no query snapshots the head, so a query sees all of it or none.
        commitGate.withWriteLock { tombstones.add(stones) }
    }
}

extension SeriesState {
    /// Oldest and newest committed sample, or nil with none.
    var timeRange: (Int64, Int64)? {
        let lo = closed.first?.minTime ?? (hasOpenChunk ? openMinTime : .max)
        return lo <= maxTime ? (lo, maxTime) : nil
    }
}

extension [ChunkMeta] {
    /// These in-memory chunks without the samples in `deleted`. Head chunks were encoded by
    /// this process, so a decoding failure is impossible; such a chunk would be kept whole.
    func applying(_ deleted: [TombstoneInterval]) -> [ChunkMeta] {
        guard !deleted.isEmpty else { return self }
        return compactMap { c in
            do throws(TSDBError) { return try c.removing(deleted) } catch { return c }
        }
    }
}

extension Head {
    /// Chunks in memory, closed and open, over every series: Prometheus's
    /// `prometheus_tsdb_head_chunks` and `/api/v1/status/tsdb`'s `chunkCount`.
    var chunkCount: Int {
        var n = 0
        let last = series.lastRef
        guard last > 0 else { return 0 }
        for ref in 1...last {
            guard let s = series.lookup(ref)?.takeUnretainedValue() else { continue }
            n += s.state.withLock { $0.closed.count + ($0.hasOpenChunk ? 1 : 0) }
        }
        return n
    }
}
