extension ChunkMeta {
    /// This chunk without the samples in `deleted` (sorted, disjoint intervals): itself when
    /// none is touched, a re-encoded chunk otherwise, nil when nothing is left.
    func removing(_ deleted: [TombstoneInterval]) throws(TSDBError) -> ChunkMeta? {
        let touched = deleted.contains { $0.minTime <= maxTime && $0.maxTime >= minTime }
        guard touched else { return self }
        let kept = try chunk.decodeAll().filter { !TombstoneInterval.isDeleted($0.timestamp, in: deleted) }
        guard let first = kept.first, let last = kept.last else { return nil }
        return ChunkMeta(chunk: XORChunk(encoding: kept), minTime: first.timestamp, maxTime: last.timestamp)
    }
}
