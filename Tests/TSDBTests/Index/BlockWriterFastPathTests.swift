import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The block writer's fast paths give exactly what the plain paths give: series interned by
/// ``SeriesSymbols`` sort as ``Labels/compare(_:_:)`` sorts them, an index written from
/// symbol references is byte-identical to one written from labels, and chunk data written
/// without tuples lands in the same segments at the same references.
@Suite(.heavy) struct BlockWriterFastPathTests {
    /// Label sets with shared prefixes, prefixes of each other, multi-byte UTF-8 and
    /// differing label counts: the cases where byte order and set order get subtle.
    static func randomLabelSets(_ rng: inout SeededRandom, count: Int) throws -> [Labels] {
        let names = ["__name__", "a", "aa", "ab", "b", "job", "instance", "z"]
        let values = ["", "x", "xy", "xyz", "é", "e\u{301}", "ü", "0", "00", "1", "long-value-over-fifteen-bytes", "long-value-over-fifteen-bytes-2", "💡"]
        var out: [Labels] = []
        var seen = Set<Labels>()
        while out.count < count {
            var pairs: [(String, String)] = []
            for name in names where rng.next() % 3 == 0 {
                pairs.append((name, values[Int(rng.next() % UInt64(values.count))]))
            }
            guard let labels = try? Labels(pairs), seen.insert(labels).inserted else { continue }
            out.append(labels)
        }
        return out
    }

    @Test func symbolsSortSeriesAsLabelsCompare() throws {
        var rng = SeededRandom.fromEnvironment()
        let series = try Self.randomLabelSets(&rng, count: 400)
        let symbols = SeriesSymbols(series)
        #expect(symbols.symbols == IndexWriter.symbols(of: series), "seed \(rng.seed)")
        let order = symbols.sortedOrder()
        let expected = series.indices.sorted { Labels.compare(series[$0], series[$1]) < 0 }
        #expect(order == expected, "seed \(rng.seed)")
        for _ in 0..<2_000 {
            let i = Int(rng.next() % UInt64(series.count))
            let j = Int(rng.next() % UInt64(series.count))
            #expect(symbols.compare(i, j).signum() == Labels.compare(series[i], series[j]).signum(), "seed \(rng.seed): \(series[i]) vs \(series[j])")
        }
        // References spell the labels.
        for (i, labels) in series.enumerated() {
            let refs = Array(symbols.references(of: i))
            let spelled = stride(from: 0, to: refs.count, by: 2).map { Label(name: symbols.symbols[Int(refs[$0])], value: symbols.symbols[Int(refs[$0 + 1])]) }
            #expect(spelled == Array(labels), "seed \(rng.seed)")
        }
    }

    @Test func indexFromReferencesEqualsIndexFromLabels() throws {
        var rng = SeededRandom.fromEnvironment()
        let series = try Self.randomLabelSets(&rng, count: 300)
        let symbols = SeriesSymbols(series)
        try TemporaryDirectory.with { dir in
            let byLabels = try IndexWriter(path: dir + "/labels", sys: .system)
            let byRefs = try IndexWriter(path: dir + "/refs", sys: .system)
            try byLabels.addSymbols(symbols.symbols)
            try byRefs.addSymbols(symbols.symbols)
            for (n, i) in symbols.sortedOrder().enumerated() {
                let chunks = [IndexChunkMeta(ref: UInt64(8 + 100 * n), minTime: Int64(n), maxTime: Int64(n + 10))]
                try byLabels.addSeries(series[i], chunks: chunks)
                try byRefs.addSeries(references: symbols.references(of: i), chunks: chunks)
            }
            try byLabels.close()
            try byRefs.close()
            let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/labels"))
            let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/refs"))
            #expect(a == b, "seed \(rng.seed)")
        }
    }

    @Test func outOfOrderReferencesAreRefused() throws {
        let series = [try Labels(["__name__": "a"]), try Labels(["__name__": "b"])]
        let symbols = SeriesSymbols(series)
        try TemporaryDirectory.with { dir in
            let w = try IndexWriter(path: dir + "/index", sys: .system)
            try w.addSymbols(symbols.symbols)
            try w.addSeries(references: symbols.references(of: 1), chunks: [])
            #expect(throws: TSDBError.self) { try w.addSeries(references: symbols.references(of: 0), chunks: []) }
            #expect(throws: TSDBError.self) { try w.addSeries(references: [0, 99][...], chunks: []) }
            #expect(throws: TSDBError.self) { try w.addSeries(references: [1][...], chunks: []) }
        }
    }

    @Test(arguments: [78, 300, 4_096])
    func chunkDataWritesCutAsTupleWrites(segmentSize: Int) throws {
        var rng = SeededRandom.fromEnvironment()
        let calls: [[[UInt8]]] = (0..<60).map { _ in
            (0..<Int(rng.next() % 5)).map { _ in ChunkTest.opaque(1 + Int(rng.next() % 90), seed: UInt8(truncatingIfNeeded: rng.next())) }
        }
        try TemporaryDirectory.with { dir in
            var tuples = try ChunkSegmentWriter(directory: dir + "/tuples", sys: .system, segmentSize: segmentSize)
            var data = try ChunkSegmentWriter(directory: dir + "/data", sys: .system, segmentSize: segmentSize)
            var refs: [ChunkRef] = []
            for call in calls {
                let expected = try tuples.write(seriesChunks: call.map { (ChunkEncoding.xor, $0) })
                try data.write(seriesChunkData: call, encoding: .xor, refs: &refs)
                #expect(refs == expected, "seed \(rng.seed)")
            }
            try tuples.close()
            try data.close()
            let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/tuples").sorted()
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/data").sorted() == names)
            for name in names {
                #expect(FileManager.default.contentsEqual(atPath: dir + "/tuples/" + name, andPath: dir + "/data/" + name), "seed \(rng.seed) \(name)")
            }
        }
    }
}
