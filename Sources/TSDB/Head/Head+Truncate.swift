extension Head {
    /// Every series' chunks overlapping `[minTime, maxTime]`, for writing a block. Chunks
    /// never cross a chunk-range boundary, so with a block-aligned range each is wholly in
    /// or out, but for negative timestamps: Prometheus's chunk ranges end at `(t / width) *
    /// width + width`, truncating toward zero, while blocks are aligned downward, so such a
    /// chunk is re-encoded with only its samples inside the range (as deleted samples are).
    /// Takes the commit gate shared, so it sees whole transactions.
    func chunks(minTime: Int64, maxTime: Int64) -> [(labels: Labels, chunks: [ChunkMeta])] {
        commitGate.withReadLock {
            var out: [(labels: Labels, chunks: [ChunkMeta])] = []
            let last = series.lastRef
            guard last > 0 else { return out }
            for ref in 1...last {
                guard let s = series.lookup(ref)?.takeUnretainedValue() else { continue }
                var chunks = s.state.withLock { $0.blockChunks(minTime: minTime, maxTime: maxTime) }
                if chunks.isEmpty { continue }
                // Deleted samples never reach the block, as in Prometheus's compactor.
                var dropped = tombstones.get(ref)
                if chunks.contains(where: { $0.minTime < minTime || $0.maxTime > maxTime }) {
                    if minTime > .min { dropped.add(TombstoneInterval(minTime: .min, maxTime: minTime - 1)) }
                    if maxTime < .max { dropped.add(TombstoneInterval(minTime: maxTime + 1, maxTime: .max)) }
                }
                chunks = chunks.applying(dropped)
                if !chunks.isEmpty { out.append((s.labels, chunks)) }
            }
            return out
        }
    }

    /// Every series whose series record is in the WAL, with its reference: what a
    /// checkpoint that skips damage writes so that no live series loses its record. Costs a
    /// walk of the series table.
    func loggedSeries() -> [RefSeries] {
        var out: [RefSeries] = []
        let last = series.lastRef
        guard last > 0 else { return out }
        for ref in 1...last {
            guard let s = series.lookup(ref)?.takeUnretainedValue(), s.walLogged.load(ordering: .acquiring) else { continue }
            out.append(RefSeries(ref: s.ref, labels: s.labels))
        }
        return out
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
                        let holds = st.truncateIfNeeded(before: minTime)
                        return (holds || st.pendingOwner != 0, st.oldestTimeWithoutCopy)
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
            // As Prometheus: the head starts at the truncation point even where a chunk
            // reaches below it (for t < 0 a chunk can cross a block boundary, §4), so the
            // next cut starts after this one and head compaction always makes progress.
            resetMinTime(to: oldest == .max ? .max : Swift.max(oldest, minTime))
            return removed.count
        }
    }
}

extension SeriesState {
    /// ``chunks(minTime:maxTime:)`` for a block cut: the same chunks, but the closed chunks
    /// are tested in place, so only those returned are copied (a head holds many more
    /// chunks than one block range, and each copy costs a reference count round trip).
    func blockChunks(minTime: Int64, maxTime: Int64) -> [ChunkMeta] {
        var out: [ChunkMeta] = []
        closed.withUnsafeBufferPointer { chunks in
            for i in chunks.indices where chunks[i].maxTime >= minTime && chunks[i].minTime <= maxTime {
                out.append(chunks[i])
            }
        }
        if hasOpenChunk && encoder.count > 0 && openMaxTime >= minTime && openMinTime <= maxTime {
            out.append(ChunkMeta(chunk: XORChunk(bytes: encoder.encoded()), minTime: openMinTime, maxTime: openMaxTime))
        }
        return out
    }

    /// ``truncate(before:)``, cheaper in the common case: when the chunks to drop are the
    /// oldest ones (chunks are kept in time order) they are removed as one prefix, and the
    /// chunks that stay are moved, not copied one by one (each copy costs a reference
    /// count round trip, and a head holds many chunks per series). Anything else, such as
    /// an open chunk to drop, goes through ``truncate(before:)`` itself.
    mutating func truncateIfNeeded(before minTime: Int64) -> Bool {
        let dropsOpen = hasOpenChunk && encoder.count > 0 && openMaxTime < minTime
        let (prefix, dropsLater) = closed.withUnsafeBufferPointer { chunks -> (Int, Bool) in
            var k = 0
            while k < chunks.count && chunks[k].maxTime < minTime { k += 1 }
            return (k, chunks[k...].contains { $0.maxTime < minTime })
        }
        if dropsOpen || dropsLater { return truncate(before: minTime) }
        if prefix > 0 { closed.removeFirst(prefix) }
        return !closed.isEmpty || (hasOpenChunk && encoder.count > 0)
    }

    /// ``oldestTime`` without copying the first chunk.
    var oldestTimeWithoutCopy: Int64? {
        if !closed.isEmpty { return closed.withUnsafeBufferPointer { $0[0].minTime } }
        return hasOpenChunk && encoder.count > 0 ? openMinTime : nil
    }
}
