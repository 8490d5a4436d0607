/// The chunks of one series as compaction rewrites them (FORMAT.md §12.2): each parent
/// block's chunks with its tombstones applied, then the parents' chunks merged, as
/// Prometheus 2.42's `blockBaseSeriesSet` + `populateWithDelChunkSeriesIterator` and
/// `NewCompactingChunkSeriesMerger` do.
///
/// Pure functions over values; thread-safe. Untouched chunks keep their bytes; only chunks
/// that a deletion touches or that overlap another chunk are decoded and re-encoded.
enum SeriesCompaction {
    /// Prometheus's `seriesToChunkEncoderSplit`: merged samples are cut into chunks of this
    /// many samples.
    static let mergedChunkSamples = 120

    /// One parent's chunks of a series, with the parent's deletions and the compaction's
    /// time range `[minTime, maxTime]` (both inclusive: the new block's `maxTime - 1`)
    /// applied:
    /// - a chunk wholly outside the range, or wholly inside one deleted interval, is dropped
    ///   without being read;
    /// - a chunk that no deleted interval (nor a range end) touches is kept byte for byte;
    /// - any other chunk is decoded and re-encoded without the deleted samples, one chunk
    ///   for one, its times those of its first and last remaining sample; dropped if none
    ///   remains.
    ///
    /// Prometheus 2.42 stops reading the series at a re-encoded chunk left with no samples,
    /// losing its later chunks; here only that chunk goes.
    ///
    /// - Parameter load: reads a chunk's encoding and bytes, e.g. from a block's segments.
    /// - Throws: `.unsupported` for a chunk that is not XOR, `.corruption` for undecodable
    ///   bytes, and whatever `load` throws.
    static func applyDeletions(
        _ metas: [IndexChunkMeta], deleted: [TombstoneInterval], minTime: Int64, maxTime: Int64,
        load: (IndexChunkMeta) throws(TSDBError) -> (encoding: ChunkEncoding, data: [UInt8])
    ) throws(TSDBError) -> [ChunkMeta] {
        var out: [ChunkMeta] = []
        out.reserveCapacity(metas.count)
        for meta in metas {
            guard meta.maxTime >= minTime, meta.minTime <= maxTime else { continue }
            if deleted.contains(where: { $0.minTime <= meta.minTime && meta.maxTime <= $0.maxTime }) { continue }
            var touching = deleted.filter { $0.minTime <= meta.maxTime && $0.maxTime >= meta.minTime }
            if meta.minTime < minTime { touching.append(TombstoneInterval(minTime: .min, maxTime: minTime - 1)) }
            if meta.maxTime > maxTime { touching.append(TombstoneInterval(minTime: maxTime + 1, maxTime: .max)) }

            let (encoding, data) = try load(meta)
            guard encoding == .xor else {
                throw TSDBError(.unsupported, "chunk \(ChunkRef(rawValue: meta.ref)) has encoding \(encoding); compaction supports only XOR")
            }
            let chunk = XORChunk(bytes: data)
            if touching.isEmpty {
                out.append(ChunkMeta(chunk: chunk, minTime: meta.minTime, maxTime: meta.maxTime))
                continue
            }
            let kept = try chunk.decodeAll().filter { !TombstoneInterval.isDeleted($0.timestamp, in: touching) }
            guard let first = kept.first, let last = kept.last else { continue }
            out.append(ChunkMeta(chunk: XORChunk(encoding: kept), minTime: first.timestamp, maxTime: last.timestamp))
        }
        return out
    }

    /// Merges the chunk lists of one series from several parents (in parent order) into
    /// one list in time order.
    ///
    /// Chunks are ordered by (minTime, maxTime, parent). A run of chunks in which each starts
    /// at or before the latest end so far overlaps: if after dropping byte-identical copies
    /// (same times, same bytes) one chunk remains, it is kept as is; otherwise the run's
    /// samples are merged by timestamp, a timestamp present more than once kept once (the
    /// first in chunk order wins), and cut into chunks of ``mergedChunkSamples``. Chunks
    /// that overlap nothing are kept as they are.
    static func merge(_ sources: [[ChunkMeta]]) throws(TSDBError) -> (chunks: [ChunkMeta], merged: Bool) {
        if sources.count == 1, isOrdered(sources[0]) { return (sources[0], false) }
        var all: [(chunk: ChunkMeta, source: Int, position: Int)] = []
        for (s, list) in sources.enumerated() {
            for (p, c) in list.enumerated() { all.append((c, s, p)) }
        }
        all.sort { a, b in
            if a.chunk.minTime != b.chunk.minTime { return a.chunk.minTime < b.chunk.minTime }
            if a.chunk.maxTime != b.chunk.maxTime { return a.chunk.maxTime < b.chunk.maxTime }
            return (a.source, a.position) < (b.source, b.position)
        }
        var out: [ChunkMeta] = []
        out.reserveCapacity(all.count)
        var merged = false
        var i = 0
        while i < all.count {
            var run = [all[i].chunk]
            var latestEnd = all[i].chunk.maxTime
            var j = i + 1
            while j < all.count && all[j].chunk.minTime <= latestEnd {
                let next = all[j].chunk
                let duplicate = run.contains {
                    $0.minTime == next.minTime && $0.maxTime == next.maxTime && $0.chunk.bytes == next.chunk.bytes
                }
                if !duplicate {
                    run.append(next)
                    latestEnd = max(latestEnd, next.maxTime)
                }
                j += 1
            }
            i = j
            if run.count == 1 {
                out.append(run[0])
            } else {
                merged = true
                out.append(contentsOf: try mergeSamples(run))
            }
        }
        return (out, merged)
    }

    /// Whether chunks are in time order without overlap, so that nothing needs merging.
    private static func isOrdered(_ chunks: [ChunkMeta]) -> Bool {
        zip(chunks, chunks.dropFirst()).allSatisfy { $0.0.maxTime < $0.1.minTime }
    }

    /// The samples of `run` (in chunk order) by timestamp, each timestamp once (the first in
    /// chunk order wins), in chunks of at most ``mergedChunkSamples``.
    static func mergeSamples(_ run: [ChunkMeta]) throws(TSDBError) -> [ChunkMeta] {
        try SeriesMerge.mergeSamples(run, chunkSamples: mergedChunkSamples)
    }
}
