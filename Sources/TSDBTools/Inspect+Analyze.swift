@_spi(Chunks) import TSDB

/// What `promtool tsdb analyze` reports about one block, plus chunk statistics. Every list
/// is sorted by count, descending, then by key.
package struct BlockAnalysis: Sendable {
    package var meta: BlockMeta
    package var labelNameCount = 0
    package var postings = 0
    package var postingEntries = 0
    /// Label pairs (`name=value`) by time uncovered, in block lengths: churn.
    package var churningPairs: [(key: String, count: UInt64)] = []
    package var churningNames: [(key: String, count: UInt64)] = []
    package var commonPairs: [(key: String, count: UInt64)] = []
    package var valueLengths: [(key: String, count: UInt64)] = []
    package var cardinalityLabels: [(key: String, count: UInt64)] = []
    package var cardinalityMetrics: [(key: String, count: UInt64)] = []
    package var chunks = 0
    package var samples = 0
    /// Bytes of chunk data (encoding byte and XOR bits, without length and CRC).
    package var chunkBytes = 0
    /// Chunks per tenth of fullness (120 samples = 100%), as `analyze --extended`.
    package var fullness = [Int](repeating: 0, count: 10)
}

extension Inspect {
    /// Analyzes the block `ulid` of `directory`, or the last one by start time.
    /// - Throws: `.notFound` when there is no such block, `.corruption` for damage.
    package static func analyze(directory: String, block ulid: String?) throws(TSDBError) -> BlockAnalysis {
        let (blocks, _) = try BlockLoader.load(directory: directory, sys: .system, readOnly: true)
        defer { for b in blocks { b.close() } }
        guard let block = ulid.map({ id in blocks.first { $0.meta.ulid.description == id } }) ?? blocks.last else {
            throw TSDBError(.notFound, "block \(ulid ?? "") not found in \(directory)", location: .init(file: directory))
        }
        return try block.withReaders { (r: Block.Readers) throws(TSDBError) -> BlockAnalysis in
            try analyze(meta: block.meta, index: r.index, chunks: r.chunks)
        }
    }

    private static func analyze(meta: BlockMeta, index: IndexReader, chunks: ChunkSegmentReader) throws(TSDBError) -> BlockAnalysis {
        var a = BlockAnalysis(meta: meta)
        let names = index.labelNames()
        a.labelNameCount = names.count
        let span = UInt64(bitPattern: meta.maxTime &- meta.minTime)
        var namesUncovered: [String: UInt64] = [:]
        var pairsUncovered: [String: UInt64] = [:]
        var pairsCount: [String: UInt64] = [:]
        for ref in try index.allPostings() {
            let (labels, metas) = try index.series(ref)
            guard let first = metas.first, let last = metas.last else { continue }
            let uncovered = span &- UInt64(bitPattern: last.maxTime &- first.minTime)
            for l in labels {
                let key = l.name + "=" + l.value
                namesUncovered[l.name, default: 0] &+= uncovered
                pairsUncovered[key, default: 0] &+= uncovered
                pairsCount[key, default: 0] += 1
                a.postingEntries += 1
            }
            for m in metas {
                let (_, data) = try chunks.chunk(ChunkRef(rawValue: m.ref))
                let n = XORChunk(bytes: data).count ?? 0
                a.chunks += 1
                a.samples += n
                a.chunkBytes += data.count + 1
                let size = Double(min(n, 120))
                let bucket = Int((10 * size / 120).rounded(.up)) - 1
                a.fullness[max(0, min(9, bucket))] += 1
            }
        }
        a.postings = pairsUncovered.count
        let width = Double(meta.maxTime &- meta.minTime)
        func ranked(_ d: [String: UInt64]) -> [(key: String, count: UInt64)] {
            d.map { (key: $0.key, count: $0.value) }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }
        }
        func perBlock(_ d: [String: UInt64]) -> [String: UInt64] {
            d.mapValues { width > 0 ? UInt64(Double($0) / width) : 0 }
        }
        a.churningPairs = ranked(perBlock(pairsUncovered))
        a.churningNames = ranked(perBlock(namesUncovered))
        a.commonPairs = ranked(pairsCount)
        var lengths: [String: UInt64] = [:]
        var cardinality: [String: UInt64] = [:]
        for n in names {
            let values = try index.labelValues(n)
            lengths[n] = values.reduce(0) { $0 + UInt64($1.utf8.count) }
            cardinality[n] = UInt64(values.count)
        }
        a.valueLengths = ranked(lengths)
        a.cardinalityLabels = ranked(cardinality)
        var metrics: [String: UInt64] = [:]
        for v in try index.labelValues("__name__") { metrics[v] = UInt64(try index.postings("__name__", v).count) }
        a.cardinalityMetrics = ranked(metrics)
        return a
    }
}
