extension Block {
    /// The series matching all `matchers` with at least one sample in `[minTime, maxTime]`
    /// (inclusive, as ``Querier``), sorted by labels, without the samples the block's
    /// tombstones delete.
    ///
    /// Each returned ``Series`` holds copies of its chunks, so it outlives the block. A chunk
    /// that a tombstone touches is decoded and re-encoded without the deleted samples, since
    /// ``Series`` has no notion of deleted ranges; untouched chunks are copied as stored.
    ///
    /// Costs the postings of every matcher, one index series entry per matching series and a
    /// copy of the chunks that overlap the range.
    /// - Throws: ``TSDBError/Code/invalidArgument`` when `matchers` is empty, `.closed` after
    ///   ``close()``, `.corruption` for damaged index or chunk bytes, `.unsupported` for a
    ///   chunk that is not XOR (native histograms).
    func select(_ matchers: [Matcher], minTime: Int64, maxTime: Int64) throws(TSDBError) -> [Series] {
        guard !matchers.isEmpty else { throw TSDBError(.invalidArgument, "select needs at least one matcher") }
        // The block holds [meta.minTime, meta.maxTime).
        guard minTime <= maxTime, meta.minTime <= maxTime, minTime < meta.maxTime else { return [] }
        return try withReaders { (r: Readers) throws(TSDBError) -> [Series] in
            var out: [Series] = []
            for ref in try IndexPostingsReader.resolve(matchers, in: r.index) {
                let (labels, metas) = try r.index.series(ref)
                let deleted = r.tombstones.get(ref)
                var chunks: [ChunkMeta] = []
                for m in metas where m.maxTime >= minTime && m.minTime <= maxTime {
                    if let c = try Self.loadChunk(m, deleted: deleted, from: r.chunks) { chunks.append(c) }
                }
                guard !chunks.isEmpty else { continue }
                let series = Series(labels: labels, chunks: chunks, minTime: minTime, maxTime: maxTime)
                // A chunk's first and last samples are at its minTime and maxTime, so one with
                // either end in range has a sample there. Only a chunk spanning the whole range
                // may hold none inside it; decode just those (decoding every series here cost
                // a second pass over every chunk a query reads).
                let certain = chunks.contains { c in
                    (c.minTime >= minTime && c.minTime <= maxTime) || (c.maxTime >= minTime && c.maxTime <= maxTime)
                }
                if !certain {
                    var it = series.makeIterator()
                    if it.next() == nil {
                        if let error = it.error { throw error }
                        continue
                    }
                }
                out.append(series)
            }
            // The index stores series in label order, and postings are ascending references.
            return out
        }
    }

    /// Sorted label names of the series matching `matchers`, or of all series when empty.
    /// Tombstones and time ranges are not considered, as in Prometheus's block reader.
    func labelNames(matching matchers: [Matcher] = []) throws(TSDBError) -> [String] {
        try withReaders { (r: Readers) throws(TSDBError) -> [String] in
            if matchers.isEmpty { return r.index.labelNames() }  // without "" already
            var names = Set<ByteString>()
            for ref in try IndexPostingsReader.resolve(matchers, in: r.index) {
                for label in try r.index.series(ref).labels { names.insert(ByteString(label.name)) }
            }
            return names.sorted().map(\.string)
        }
    }

    /// Sorted values of label `name` among the series matching `matchers`, or all series.
    func labelValues(_ name: String, matching matchers: [Matcher] = []) throws(TSDBError) -> [String] {
        try withReaders { (r: Readers) throws(TSDBError) -> [String] in
            if matchers.isEmpty {
                // Sorted byte-wise, so an empty value can only come first.
                let values = try r.index.labelValues(name)
                return values.first?.isEmpty == true ? Array(values.dropFirst()) : values
            }
            var values = Set<ByteString>()
            for ref in try IndexPostingsReader.resolve(matchers, in: r.index) {
                if let v = try r.index.series(ref).labels[name] { values.insert(ByteString(v)) }
            }
            return values.sorted().map(\.string)
        }
    }

    /// The chunk at `meta` copied out of the mapping, without samples in `deleted`; nil if
    /// every sample is deleted.
    private static func loadChunk(
        _ meta: IndexChunkMeta, deleted: [TombstoneInterval], from chunks: ChunkSegmentReader
    ) throws(TSDBError) -> ChunkMeta? {
        let ref = ChunkRef(rawValue: meta.ref)
        let (encoding, data) = try chunks.chunk(ref)
        guard encoding == .xor else {
            throw TSDBError(.unsupported, "chunk \(ref) of block \(chunks.directory) has encoding \(encoding); only XOR is supported")
        }
        return try ChunkMeta(chunk: XORChunk(bytes: data), minTime: meta.minTime, maxTime: meta.maxTime).removing(deleted)
    }
}
