extension Head {
    /// Every series' chunks overlapping `[minTime, maxTime]`, for writing a block. Chunks
    /// never cross a chunk-range boundary, so with a block-aligned range each is wholly in
    /// or out. Takes the commit gate shared, so it sees whole transactions.
    func chunks(minTime: Int64, maxTime: Int64) -> [(labels: Labels, chunks: [HeadChunk])] {
        commitGate.withReadLock {
            var out: [(labels: Labels, chunks: [HeadChunk])] = []
            let last = series.lastRef
            guard last > 0 else { return out }
            for ref in 1...last {
                guard let s = series.lookup(ref)?.takeUnretainedValue() else { continue }
                var chunks = s.state.withLock { $0.chunks(minTime: minTime, maxTime: maxTime) }
                // Deleted samples never reach the block, as in Prometheus's compactor.
                chunks = chunks.applying(tombstones.get(ref))
                if !chunks.isEmpty { out.append((s.labels, chunks)) }
            }
            return out
        }
    }

    /// Drops everything older than `minTime`, which is in a block now: chunks that end
    /// before it, and series left with no samples and no open transaction. Raises the
    /// minimum valid time to `minTime`. Holds the commit gate exclusively, so queries see
    /// the head before or after, never in between. Then finishes the open head chunk file
    /// and deletes the files whose chunks all end before `minTime` (FORMAT.md §13.5).
    /// Returns how many series were removed.
    @discardableResult
    func truncate(before minTime: Int64) -> Int {
        raiseMinValidTime(to: minTime)
        defer { headChunks.truncate(before: minTime) }
        return commitGate.withWriteLock {
            var removed: [MemSeries] = []
            var oldest = Int64.max
            let last = series.lastRef
            if last > 0 {
                for ref in 1...last {
                    guard let s = series.lookup(ref)?.takeUnretainedValue() else { continue }
                    let (keep, first) = s.state.withLock { st -> (Bool, Int64?) in
                        let holds = st.truncate(before: minTime)
                        return (holds || st.pendingOwner != 0, st.oldestTime)
                    }
                    if keep {
                        if let first { oldest = Swift.min(oldest, first) }
                    } else {
                        removed.append(s)
                    }
                }
            }
            postings.remove(removed)
            tombstones.truncate(before: minTime, removed: removed.map(\.ref))
            series.remove(removed)
            resetMinTime(to: oldest)
            return removed.count
        }
    }
}
