extension Block {
    /// Deletes `[minTime, maxTime]` (inclusive) from the series matching `matchers`, as
    /// Prometheus's `Block.Delete`: each matching series with a chunk in the range gets one
    /// tombstone interval, clamped to the series' first and last chunk. The `tombstones`
    /// file and `meta.json` (its `numTombstones`) are replaced crash-safely, then the
    /// in-memory tombstones, so queries starting afterwards no longer see the samples.
    ///
    /// Callers serialise deletions and compactions of a block (the database holds its
    /// compaction lock). Returns how many series got a tombstone.
    /// - Throws: `.io` when a file cannot be written: if the `tombstones` file could not be
    ///   replaced, nothing changed; if only `meta.json` failed, the deletion holds (in memory
    ///   and in the file a reopen reads) and only the stored count is stale.
    ///   `.corruption` for damaged index bytes, `.closed` after ``close()``.
    @discardableResult
    func delete(_ matchers: [Matcher], minTime: Int64, maxTime: Int64, sys: Syscalls) throws(TSDBError) -> Int {
        let meta = self.meta
        guard minTime <= maxTime, meta.minTime <= maxTime, minTime < meta.maxTime else { return 0 }
        let (stones, count) = try withReaders { (r: Readers) throws(TSDBError) -> (TombstoneSet, Int) in
            var stones = r.tombstones
            var count = 0
            for ref in try IndexPostingsReader.resolve(matchers, in: r.index) {
                let (_, chunks) = try r.index.series(ref)
                guard let first = chunks.first, let last = chunks.last,
                      chunks.contains(where: { $0.minTime <= maxTime && $0.maxTime >= minTime })
                else { continue }
                stones.add(ref: ref, TombstoneInterval(minTime: Swift.max(minTime, first.minTime),
                                                       maxTime: Swift.min(maxTime, last.maxTime)))
                count += 1
            }
            return (stones, count)
        }
        guard count > 0 else { return 0 }
        let size = try TombstonesFile.write(stones, blockDirectory: directory, sys: sys)
        var newMeta = meta
        newMeta.stats.numTombstones = UInt64(stones.intervalCount)
        // The tombstones file is the truth a reopen reads: install it before the stats.
        installTombstones(stones, size: size, meta: newMeta)
        try newMeta.write(blockDirectory: directory, sys: sys)
        return count
    }
}
