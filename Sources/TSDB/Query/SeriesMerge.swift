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
        var tagged: [(source: Int, chunk: HeadChunk)] = []
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

        var samples: [(source: Int, sample: Sample)] = []
        for (i, part) in parts.enumerated() {
            for c in part.chunks {
                for s in try c.chunk.decodeAll() { samples.append((i, s)) }
            }
        }
        samples.sort { a, b in
            a.sample.timestamp != b.sample.timestamp ? a.sample.timestamp < b.sample.timestamp : a.source < b.source
        }
        var merged: [HeadChunk] = []
        var encoder = XOREncoder()
        var first = Int64.min
        var last = Int64.min
        var any = false
        for (_, s) in samples {
            if any && s.timestamp == last { continue }  // the same sample from a later source
            if encoder.count == 0 { first = s.timestamp }
            encoder.append(timestamp: s.timestamp, value: s.value)
            last = s.timestamp
            any = true
            if encoder.count == 120 {
                merged.append(HeadChunk(chunk: XORChunk(bytes: encoder.encoded()), minTime: first, maxTime: last))
                encoder = XOREncoder()
            }
        }
        if encoder.count > 0 {
            merged.append(HeadChunk(chunk: XORChunk(bytes: encoder.encoded()), minTime: first, maxTime: last))
        }
        return Series(labels: labels, chunks: merged, minTime: minTime, maxTime: maxTime)
    }
}
