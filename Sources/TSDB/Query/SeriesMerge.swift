/// Merges sorted series lists from several sources (the head and each block) into one
/// sorted list: series with equal labels become one, their chunks in time order.
///
/// Chunks of one series that overlap in time (overlapping blocks, or a block and the head
/// over the same range) are decoded, merged by timestamp with identical timestamps kept
/// once (the first source wins), and re-encoded into chunks of at most 120 samples. The
/// common case, no overlap, only concatenates.
enum SeriesMerge {
    static func merge(_ lists: [[Series]], minTime: Int64, maxTime: Int64) throws(TSDBError) -> [Series] {
        let nonEmpty = lists.filter { !$0.isEmpty }
        if nonEmpty.count <= 1 { return nonEmpty.first ?? [] }
        var cursors = [Int](repeating: 0, count: nonEmpty.count)
        var out: [Series] = []
        while true {
            // The smallest labels among the lists' current series.
            var smallest: Labels?
            for (i, list) in nonEmpty.enumerated() where cursors[i] < list.count {
                let l = list[cursors[i]].labels
                if smallest == nil || Labels.compare(l, smallest!) < 0 { smallest = l }
            }
            guard let labels = smallest else { return out }
            var parts: [Series] = []
            for (i, list) in nonEmpty.enumerated() where cursors[i] < list.count && list[cursors[i]].labels == labels {
                parts.append(list[cursors[i]])
                cursors[i] += 1
            }
            out.append(parts.count == 1 ? parts[0] : try combine(parts, labels: labels, minTime: minTime, maxTime: maxTime))
        }
    }

    private static func combine(_ parts: [Series], labels: Labels, minTime: Int64, maxTime: Int64) throws(TSDBError) -> Series {
        var tagged: [(source: Int, chunk: ChunkMeta)] = []
        for (i, part) in parts.enumerated() {
            for c in part.chunks { tagged.append((i, c)) }
        }
        // Stable: chunks with equal start keep their source order.
        tagged.sort { a, b in
            a.chunk.minTime != b.chunk.minTime ? a.chunk.minTime < b.chunk.minTime : a.source < b.source
        }
        let chunks = tagged.map(\.chunk)
        let overlapping = zip(chunks, chunks.dropFirst()).contains { pair in pair.1.minTime <= pair.0.maxTime }
        if !overlapping { return Series(labels: labels, chunks: chunks, minTime: minTime, maxTime: maxTime) }

        // Sources in order, so that where two hold a timestamp the first source's sample wins.
        let merged = try mergeSamples(parts.flatMap(\.chunks), chunkSamples: 120)
        return Series(labels: labels, chunks: merged, minTime: minTime, maxTime: maxTime)
    }

    /// The samples of `chunks` sorted by timestamp, each timestamp once (the sample from the
    /// earliest chunk in `chunks` wins), re-encoded into chunks of at most `chunkSamples`.
    /// Used by queries over overlapping sources and by compaction of overlapping blocks.
    static func mergeSamples(_ chunks: [ChunkMeta], chunkSamples: Int) throws(TSDBError) -> [ChunkMeta] {
        var samples: [(sample: Sample, order: Int)] = []
        for c in chunks {
            for s in try c.chunk.decodeAll() { samples.append((s, samples.count)) }
        }
        samples.sort { a, b in
            a.sample.timestamp != b.sample.timestamp ? a.sample.timestamp < b.sample.timestamp : a.order < b.order
        }
        var out: [ChunkMeta] = []
        var encoder = XOREncoder()
        var first = Int64.min
        var last = Int64.min
        var any = false
        for (s, _) in samples {
            if any && s.timestamp == last { continue }
            if encoder.count == chunkSamples {
                out.append(ChunkMeta(chunk: XORChunk(bytes: encoder.encoded()), minTime: first, maxTime: last))
                encoder = XOREncoder()
            }
            if encoder.count == 0 { first = s.timestamp }
            encoder.append(timestamp: s.timestamp, value: s.value)
            last = s.timestamp
            any = true
        }
        if encoder.count > 0 {
            out.append(ChunkMeta(chunk: XORChunk(bytes: encoder.encoded()), minTime: first, maxTime: last))
        }
        return out
    }
}
