/// Merges persisted blocks into one new block, as Prometheus 2.42's
/// `LeveledCompactor.Compact` and `populateBlock` do (FORMAT.md §12.2–§12.3).
///
/// The parents' series are walked in label order — each parent's index lists its series
/// sorted, so a k-way merge over their all-postings lists yields the union in order —
/// and each merged series' chunks and index entry are written as soon as it is complete.
/// Memory: the parents' postings lists (8 bytes per series), the symbol table, and what
/// ``IndexWriter`` keeps until it closes (postings of the new block); never all series or
/// all chunks at once.
///
/// Does not delete, close or change the parents (except marking them deletable in
/// ``LeveledCompaction`` when the result is empty); the caller does that once the new block
/// is published.
enum BlockCompactor {
    /// Writes the block holding every sample of `blocks` that their tombstones do not
    /// delete, in `directory`, and returns its meta; nil, writing nothing, when no sample is
    /// left.
    ///
    /// - Parameters:
    ///   - blocks: the parents, open; in the order a plan gives them (by `minTime`). Each is
    ///     held with ``Block/retain()`` while it is read, so a concurrent ``Block/close()``
    ///     waits. Where two parents hold the same timestamp of a series with different
    ///     values, the earlier parent's value is kept.
    ///   - ulid: the new block's identifier; by default one for now.
    ///   - segmentSize: the chunk segment size (512 MiB, as Prometheus).
    /// - Returns: the meta written: `minTime`/`maxTime` the parents' extremes, level one more
    ///   than the highest parent level, `sources` the sorted union of the parents' sources,
    ///   `parents` each parent's ULID and range, and stats counted from what was written.
    /// - Throws: `.invalidArgument` for no blocks, `.closed` if a parent is closed,
    ///   `.corruption` for damaged parent bytes, `.unsupported` for non-XOR chunks, `.io`
    ///   when writing fails. Nothing is left behind on failure (see ``BlockWriter/build``).
    static func compact(
        directory: String, blocks: [Block], sys: Syscalls, ulid: ULID? = nil,
        segmentSize: Int = ChunkSegmentFormat.defaultSegmentSize
    ) throws(TSDBError) -> BlockMeta? {
        guard !blocks.isEmpty else { throw TSDBError(.invalidArgument, "compaction needs at least one block") }
        var held: [Block] = []
        defer { for b in held { b.release() } }
        var readers: [Block.Readers] = []
        for b in blocks {
            try b.retain()
            held.append(b)
            // The reference taken above keeps these readers usable after `withReaders` returns.
            readers.append(try b.withReaders { $0 })
        }
        var meta = combinedMeta(ulid: ulid ?? BlockWriter.newULID(), blocks.map(\.meta))
        let symbols = try mergedSymbols(readers.map(\.index))

        return try BlockWriter.build(directory: directory, ulid: meta.ulid, sys: sys) {
            (tmp: String) throws(TSDBError) -> BlockMeta? in
            var chunkWriter = try ChunkSegmentWriter(directory: BlockFiles.chunks(tmp), sys: sys, segmentSize: segmentSize)
            let index = try IndexWriter(path: BlockFiles.index(tmp), sys: sys)
            try index.addSymbols(symbols)
            meta.stats = try populate(readers, range: (meta.minTime, meta.maxTime - 1), chunks: &chunkWriter, index: index)
            try chunkWriter.close()
            try index.close()
            return meta.stats.numSamples == 0 ? nil : meta
        }
    }

    /// Prometheus's `CompactBlockMetas`: range, level, sources and parents of the result.
    static func combinedMeta(ulid: ULID, _ parents: [BlockMeta]) -> BlockMeta {
        var meta = BlockMeta(ulid: ulid, minTime: parents.map(\.minTime).min() ?? 0,
                             maxTime: parents.map(\.maxTime).max() ?? 0)
        meta.compaction.level = (parents.map(\.compaction.level).max() ?? 0) + 1
        meta.compaction.sources = Set(parents.flatMap(\.compaction.sources)).sorted()
        meta.compaction.parents = parents.map {
            BlockMeta.BlockDescription(ulid: $0.ulid, minTime: $0.minTime, maxTime: $0.maxTime)
        }
        return meta
    }

    /// The union of the parents' symbol tables, byte-wise sorted: what Prometheus's
    /// compactor gives the new index (symbols of series that are dropped stay).
    static func mergedSymbols(_ indexes: [IndexReader]) throws(TSDBError) -> [String] {
        var all = Set<ByteString>()
        for index in indexes {
            for s in try index.symbols() { all.insert(ByteString(s)) }
        }
        return all.sorted().map(\.string)
    }

    /// One parent's series in index order, one at a time.
    struct SeriesCursor {
        let readers: Block.Readers
        let postings: [UInt64]
        var position = 0
        /// The series at `position`, or nil past the end.
        var current: (ref: UInt64, labels: Labels, chunks: [IndexChunkMeta])?

        init(_ readers: Block.Readers) throws(TSDBError) {
            self.readers = readers
            postings = try readers.index.allPostings()
            try load()
        }

        mutating func advance() throws(TSDBError) {
            position += 1
            try load()
        }

        private mutating func load() throws(TSDBError) {
            guard position < postings.count else {
                current = nil
                return
            }
            let ref = postings[position]
            let (labels, chunks) = try readers.index.series(ref)
            if let previous = current, Labels.compare(previous.labels, labels) >= 0 {
                throw .corruption("series \(labels) follows \(previous.labels) in the all-postings list; the index is not sorted",
                                  file: readers.index.file)
            }
            current = (ref, labels, chunks)
        }
    }

    /// Walks the parents' series in label order and writes each merged series; returns the
    /// new block's stats. `range` is the inclusive time range kept.
    private static func populate(
        _ parents: [Block.Readers], range: (minTime: Int64, maxTime: Int64),
        chunks chunkWriter: inout ChunkSegmentWriter, index: IndexWriter
    ) throws(TSDBError) -> BlockMeta.Stats {
        var cursors: [SeriesCursor] = []
        for p in parents { cursors.append(try SeriesCursor(p)) }
        var stats = BlockMeta.Stats()
        var perParent: [[ChunkMeta]] = []
        while true {
            var smallest: Labels?
            for c in cursors {
                if let s = c.current, smallest == nil || Labels.compare(s.labels, smallest!) < 0 { smallest = s.labels }
            }
            guard let labels = smallest else { break }
            perParent.removeAll(keepingCapacity: true)
            for i in cursors.indices {
                guard let s = cursors[i].current, s.labels == labels else { continue }
                let r = cursors[i].readers
                let kept = try SeriesCompaction.applyDeletions(
                    s.chunks, deleted: r.tombstones.get(s.ref), minTime: range.minTime, maxTime: range.maxTime
                ) { (m: IndexChunkMeta) throws(TSDBError) in try r.chunks.chunk(ChunkRef(rawValue: m.ref)) }
                if !kept.isEmpty { perParent.append(kept) }
                try cursors[i].advance()
            }
            guard !perParent.isEmpty else { continue }  // every sample deleted: the series goes
            let merged = try SeriesCompaction.merge(perParent).chunks
            guard !merged.isEmpty else { continue }
            let refs = try chunkWriter.write(seriesChunks: merged.map { (ChunkEncoding.xor, $0.chunk.bytes) })
            try index.addSeries(labels, chunks: zip(refs, merged).map { ref, c in
                IndexChunkMeta(ref: ref.rawValue, minTime: c.minTime, maxTime: c.maxTime)
            })
            stats.numSeries += 1
            stats.numChunks += UInt64(merged.count)
            for c in merged { stats.numSamples += UInt64(c.chunk.count ?? 0) }
        }
        return stats
    }
}
