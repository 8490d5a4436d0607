#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a persisted block from in-memory chunks, as Prometheus's `LeveledCompactor.write`
/// does for a block cut from the head (FORMAT.md §8–§10): `chunks/`, `index`, `meta.json` and
/// an empty `tombstones`, built in `<parent>/<ULID>.tmp-for-creation/` and renamed into place.
///
/// Not tied to any thread; each call owns the files it writes. Costs one pass over the
/// chunks, plus what ``IndexWriter`` holds in memory (postings of every series).
package enum BlockWriter {
    /// Suffix of a directory in which a block is being built; a crash leaves it behind.
    package static let creationSuffix = ".tmp-for-creation"
    /// Suffix of a block directory being deleted (Prometheus renames before removing).
    package static let deletionSuffix = ".tmp-for-deletion"

    /// Writes a level-1 block holding `series` and returns its meta.
    ///
    /// - Parameters:
    ///   - parent: the data directory; it must exist.
    ///   - series: in any order; each series' chunks in time order, XOR-encoded. Series
    ///     without chunks are dropped. Labels must be distinct.
    ///   - minTime: the block's first millisecond, inclusive.
    ///   - maxTime: the block's end, exclusive, as in Prometheus's `meta.json` (a head cut
    ///     ends at the range boundary; `promtool` writes the last sample's time + 1). Every
    ///     chunk must lie in `[minTime, maxTime)`.
    ///   - ulid: the block's identifier; by default one for the current time.
    /// - Returns: the meta written to `meta.json`. The block is durable when this returns:
    ///   every file and both directories have been fsynced.
    /// - Throws: ``TSDBError/Code/invalidArgument`` for a chunk outside the range, duplicate
    ///   labels or chunks out of order; ``TSDBError/Code/io`` when a syscall fails. On any
    ///   error the temporary directory is removed, and so is the block directory if the
    ///   fsync of `parent` after the rename failed: no block is left behind.
    @discardableResult
    package static func write(
        directory parent: String,
        series: [(labels: Labels, chunks: [ChunkMeta])],
        minTime: Int64,
        maxTime: Int64,
        sys: Syscalls,
        ulid: ULID? = nil
    ) throws(TSDBError) -> BlockMeta {
        guard minTime < maxTime else {
            throw TSDBError(.invalidArgument, "block range [\(minTime), \(maxTime)) is empty")
        }
        let ulid = ulid ?? Self.newULID()
        if FileSystem.size(DataDirectory(parent).block(ulid.description), sys: sys) != nil {
            throw TSDBError(.invalidArgument, "block directory \(parent)/\(ulid) already exists")
        }

        // Series are ordered and checked on symbol references, interned once: no string is
        // compared or hashed again below.
        let present = series.indices.filter { !series[$0].chunks.isEmpty }
        let symbols = SeriesSymbols(present.lazy.map { series[$0].labels })
        let order = symbols.sortedOrder()
        for i in order.indices.dropFirst() where symbols.compare(order[i - 1], order[i]) == 0 {
            throw TSDBError(.invalidArgument, "series \(series[present[order[i]]].labels) is given twice")
        }
        var stats = BlockMeta.Stats(numSeries: UInt64(present.count))
        for k in order {
            let s = series[present[k]]
            var previousMax = Int64.min
            for (i, c) in s.chunks.enumerated() {
                guard c.minTime <= c.maxTime, c.minTime >= minTime, c.maxTime < maxTime else {
                    throw TSDBError(.invalidArgument,
                                    "chunk [\(c.minTime), \(c.maxTime)] of \(s.labels) is outside the block range [\(minTime), \(maxTime))")
                }
                guard i == 0 || c.minTime > previousMax else {
                    throw TSDBError(.invalidArgument, "chunks of \(s.labels) overlap or are out of order")
                }
                previousMax = c.maxTime
                stats.numChunks += 1
                stats.numSamples += UInt64(c.chunk.count ?? 0)
            }
        }
        let meta = BlockMeta(
            ulid: ulid, minTime: minTime, maxTime: maxTime, stats: stats,
            compaction: BlockMeta.Compaction(level: 1, sources: [ulid]))

        let written = try build(directory: parent, ulid: ulid, sys: sys) { (tmp: String) throws(TSDBError) -> BlockMeta? in
            try writeContents(of: series, present: present, symbols: symbols, order: order, into: tmp, sys: sys)
            return meta
        }
        // `build` returns nil only when `populate` does.
        return written ?? meta
    }

    /// Builds a block crash-safely, as Prometheus's `LeveledCompactor.write` does:
    /// `<parent>/<ulid>.tmp-for-creation/` is created (a leftover of that name removed
    /// first), `populate` writes `chunks/` and `index` into it (each fsynced) and returns the
    /// block's meta; then `meta.json` and an empty `tombstones` are written, the directory is
    /// fsynced, renamed to `<parent>/<ulid>` and `parent` is fsynced.
    ///
    /// When `populate` returns nil (nothing to write, e.g. a compaction whose samples are all
    /// deleted) the temporary directory is removed and nil is returned: no block.
    ///
    /// - Returns: the meta written; the block is durable when this returns.
    /// - Throws: `.invalidArgument` if `<parent>/<ulid>` exists, `.io` when a syscall fails,
    ///   or what `populate` throws. On any error neither the temporary directory nor the
    ///   block directory is left behind (removal is best effort: a crash or a failing
    ///   `unlink` can leave a `.tmp-for-creation` directory, which ``removeLeftovers(in:sys:)``
    ///   clears on the next open).
    static func build(
        directory parent: String, ulid: ULID, sys: Syscalls,
        populate: (_ temporaryDirectory: String) throws(TSDBError) -> BlockMeta?
    ) throws(TSDBError) -> BlockMeta? {
        let final = DataDirectory(parent).block(ulid.description)
        let tmp = final + creationSuffix
        if FileSystem.size(final, sys: sys) != nil {
            throw TSDBError(.invalidArgument, "block directory \(final) already exists")
        }
        var renamed = false
        do throws(TSDBError) {
            try FileSystem.removeAll(tmp, sys: sys)
            let r = sys.mkdir(tmp, 0o777)
            if r == -ENOENT {
                try FileSystem.createDirectory(tmp, sys: sys)  // `parent` is missing: mkdir -p
            } else if r != 0 {
                throw TSDBError.io("create directory", path: tmp, errno: -r)
            }
            guard let meta = try populate(tmp) else {
                try FileSystem.removeAll(tmp, sys: sys)
                return nil
            }
            try meta.write(blockDirectory: tmp, sys: sys)
            _ = try TombstonesFile.write(TombstoneSet(), blockDirectory: tmp, sys: sys)
            try FileSystem.syncDirectory(tmp, sys: sys)
            let m = sys.rename(tmp, final)
            guard m == 0 else { throw TSDBError.io("rename \(tmp) to", path: final, errno: -m) }
            renamed = true
            try FileSystem.syncDirectory(parent, sys: sys)
            return meta
        } catch {
            // Best effort: the original error is the one worth reporting. A block renamed
            // into place whose parent fsync failed goes too: the caller sees a failure and
            // may write the same data again under a new ULID.
            try? FileSystem.removeAll(renamed ? final : tmp, sys: sys)
            throw error
        }
    }

    /// `chunks/` then `index`, both fsynced by their writers. Series go in `order` (indices
    /// into `symbols`, whose series `k` is `series[present[k]]`): each series' chunks, then
    /// its index entry, as Prometheus's `populateBlock` interleaves them.
    private static func writeContents(
        of series: [(labels: Labels, chunks: [ChunkMeta])], present: [Int], symbols: SeriesSymbols, order: [Int],
        into directory: String, sys: Syscalls
    ) throws(TSDBError) {
        var chunkWriter = try ChunkSegmentWriter(directory: BlockFiles.chunks(directory), sys: sys)
        let index = try IndexWriter(path: BlockFiles.index(directory), sys: sys)
        try index.addSymbols(symbols.symbols)
        var refs: [ChunkRef] = []
        var metas: [IndexChunkMeta] = []
        for k in order {
            let chunks = series[present[k]].chunks
            // One call per series, as Prometheus's compactor, so segments are cut alike.
            try chunkWriter.write(seriesChunkData: chunks.lazy.map(\.chunk.bytes), encoding: .xor, refs: &refs)
            metas.removeAll(keepingCapacity: true)
            for (ref, c) in zip(refs, chunks) {
                metas.append(IndexChunkMeta(ref: ref.rawValue, minTime: c.minTime, maxTime: c.maxTime))
            }
            try index.addSeries(references: symbols.references(of: k), chunks: metas)
        }
        try chunkWriter.close()
        try index.close()
    }

    /// Removes every `*.tmp-for-creation` and `*.tmp-for-deletion` directory in `parent`,
    /// the remains of a block write or deletion that a crash interrupted. Call it when the
    /// data directory is opened, before anything writes blocks. Returns the names removed.
    @discardableResult
    static func removeLeftovers(in parent: String, sys: Syscalls) throws(TSDBError) -> [String] {
        var removed: [String] = []
        for name in try FileSystem.list(parent, sys: sys) ?? [] where name.hasSuffix(creationSuffix) || name.hasSuffix(deletionSuffix) {
            try FileSystem.removeAll(DataDirectory(parent).block(name), sys: sys)
            removed.append(name)
        }
        return removed.sorted()
    }

    /// Deletes the block `<parent>/<ulid>` crash-safely, as Prometheus's `deleteBlocks`:
    /// renames it to `<ulid>.tmp-for-deletion` (replacing a leftover of that name), fsyncs
    /// `parent`, then removes it. A crash leaves either the whole block or a
    /// `.tmp-for-deletion` directory, which ``removeLeftovers(in:sys:)`` clears on the next
    /// open; never half a block under its ULID. Returns false if the block did not exist.
    ///
    /// The caller closes the ``Block`` first (or never opened it); open mappings would keep
    /// the files' space until they are unmapped.
    @discardableResult
    static func delete(directory parent: String, ulid: ULID, sys: Syscalls) throws(TSDBError) -> Bool {
        let path = DataDirectory(parent).block(ulid.description)
        guard FileSystem.size(path, sys: sys) != nil else { return false }
        let doomed = path + deletionSuffix
        try FileSystem.removeAll(doomed, sys: sys)
        let r = sys.rename(path, doomed)
        guard r == 0 else { throw TSDBError.io("rename \(path) to", path: doomed, errno: -r) }
        try FileSystem.syncDirectory(parent, sys: sys)
        try FileSystem.removeAll(doomed, sys: sys)
        return true
    }

    /// Finishes a deletion of block `ulid` that failed part-way: deletes `<parent>/<ulid>`
    /// if it is still there (as ``delete(directory:ulid:sys:)``), then whatever is left of
    /// `<ulid>.tmp-for-deletion`.
    static func finishDeletion(directory parent: String, ulid: ULID, sys: Syscalls) throws(TSDBError) {
        try delete(directory: parent, ulid: ulid, sys: sys)
        try FileSystem.removeAll(DataDirectory(parent).block(ulid.description + deletionSuffix), sys: sys)
    }

    /// A ULID for now, with random bits from the system generator.
    package static func newULID() -> ULID {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ms = UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
        var rng = SystemRandomNumberGenerator()
        return ULID.make(timestampMs: ms, using: &rng)
    }
}
