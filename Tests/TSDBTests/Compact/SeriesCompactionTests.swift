import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The cases of Prometheus 2.42's `TestCompaction_populateBlock` (tsdb/compact_test.go),
/// series by series: each parent's chunks (as sample timestamps, values 0) go through
/// ``SeriesCompaction/applyDeletions`` with the compaction range and then
/// ``SeriesCompaction/merge(_:)``; the resulting chunks must hold what Prometheus's do, with
/// chunk times equal to their first and last sample.
@Suite(.heavy) struct SeriesCompactionTests {
    typealias Chunks = [[Int64]]

    struct Case: CustomTestStringConvertible, Sendable {
        let title: String
        /// Per parent, the series' chunks.
        let parents: [Chunks]
        var minTime: Int64 = 0
        var maxTime: Int64 = .max
        let expected: Chunks
        var testDescription: String { title }
    }

    static func range(_ lo: Int64, _ hi: Int64, per n: Int = 120) -> Chunks {
        var out: Chunks = []
        var current: [Int64] = []
        for t in lo...hi {
            current.append(t)
            if current.count >= n { out.append(current); current = [] }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    static let cases: [Case] = [
        Case(title: "single block: same samples", parents: [[[0, 10], [11, 20]]], expected: [[0, 10], [11, 20]]),
        Case(title: "two blocks a=b", parents: [[[0, 10], [11, 20]], [[21, 30]]], expected: [[0, 10], [11, 20], [21, 30]]),
        Case(title: "two blocks a=c", parents: [[[1, 9], [10, 19]], [[40, 45]]], expected: [[1, 9], [10, 19], [40, 45]]),
        Case(title: "negative time", parents: [[[-11, -9], [10, 19]], [[40, 45]]], minTime: -11,
             expected: [[-11, -9], [10, 19], [40, 45]]),
        Case(title: "series in both blocks", parents: [[[1, 4]], [[5, 8]]], expected: [[1, 4], [5, 8]]),
        Case(title: "1:1 duplicated chunks", parents: [[[1, 2], [3, 4]], [[3, 4]]], minTime: -3, expected: [[1, 2], [3, 4]]),
        Case(title: "1:1 duplicated chunks, negative times",
             parents: [[[-3, -2], [1, 3, 4], [5, 6]], [[1, 3, 4], [7, 8]]], minTime: -3,
             expected: [[-3, -2], [1, 3, 4], [5, 6], [7, 8]]),
        Case(title: "chunk outside the compaction range is trimmed", parents: [[[1, 2], [10, 30]]], maxTime: 20,
             expected: [[1, 2], [10]]),
        Case(title: "extra chunk (prometheus/tsdb#347)", parents: [[[1, 2], [10, 20]]], maxTime: 10, expected: [[1, 2]]),
        Case(title: "duplicated chunk", parents: [[[1, 2], [10, 20]], [[10, 20]]], expected: [[1, 2], [10, 20]]),
        Case(title: "three overlapping blocks: overlap-all",
             parents: [[[19, 30]], [[0, 10, 11, 20]], [[27, 35]]], expected: [[0, 10, 11, 19, 20, 27, 30, 35]]),
        Case(title: "three overlapping blocks: overlap-beginning",
             parents: [[[0, 5]], [[0, 10, 12, 20]]], expected: [[0, 5, 10, 12, 20]]),
        Case(title: "three overlapping blocks: overlap-ending",
             parents: [[[21, 30]], [[0, 10, 13, 20]], [[27, 35]]], expected: [[0, 10, 13, 20], [21, 27, 30, 35]]),
        Case(title: "partially overlapping with full chunks: b=1", parents: [range(0, 659)], expected: range(0, 659)),
        Case(title: "partially overlapping with full chunks: b=2",
             parents: [range(0, 659), range(480, 1199), range(960, 1499)], expected: range(0, 1499)),
        Case(title: "partially overlapping, merged into a single big chunk",
             parents: [[[0, 6_902_464], [6_961_968, 7_080_976]], [[3_600_000, 13_953_696], [14_042_952, 14_221_464]],
                       [[10_800_000, 14_251_232], [14_280_984, 14_340_488]]],
             expected: [[0, 3_600_000, 6_902_464, 6_961_968, 7_080_976, 10_800_000, 13_953_696, 14_042_952, 14_221_464, 14_251_232],
                        [14_280_984, 14_340_488]]),
    ]

    static func chunk(_ times: [Int64], value: (Int64) -> Double = { _ in 0 }) -> ChunkMeta {
        ChunkMeta(chunk: XORChunk(encoding: times.map { Sample(timestamp: $0, value: value($0)) }),
                  minTime: times.first ?? 0, maxTime: times.last ?? 0)
    }

    /// Runs a parent's chunks through `applyDeletions` as the compactor does, from memory.
    static func parent(_ chunks: [ChunkMeta], deleted: [TombstoneInterval] = [], minTime: Int64, maxTime: Int64) throws -> [ChunkMeta] {
        let metas = chunks.enumerated().map { IndexChunkMeta(ref: UInt64($0.offset), minTime: $0.element.minTime, maxTime: $0.element.maxTime) }
        return try SeriesCompaction.applyDeletions(metas, deleted: deleted, minTime: minTime, maxTime: maxTime) {
            (m: IndexChunkMeta) throws(TSDBError) in (ChunkEncoding.xor, chunks[Int(m.ref)].chunk.bytes)
        }
    }

    static func times(_ chunks: [ChunkMeta]) throws -> Chunks {
        try chunks.map { c in
            let samples = try c.chunk.decodeAll()
            #expect(samples.first?.timestamp == c.minTime && samples.last?.timestamp == c.maxTime,
                    "chunk meta [\(c.minTime), \(c.maxTime)] vs samples \(samples.map(\.timestamp))")
            return samples.map(\.timestamp)
        }
    }

    @Test(arguments: cases)
    func prometheusPopulateBlock(_ c: Case) throws {
        // Prometheus passes the block's maxTime - 1 as the inclusive end.
        let hi = c.maxTime == .max ? Int64.max - 1 : c.maxTime - 1
        let parents = try c.parents.map { try Self.parent($0.map { Self.chunk($0) }, minTime: c.minTime, maxTime: hi) }
            .filter { !$0.isEmpty }
        let merged = try SeriesCompaction.merge(parents).chunks
        #expect(try Self.times(merged) == c.expected)
    }

    @Test func untouchedChunksKeepTheirBytes() throws {
        let a = Self.chunk([1, 2, 3], value: { Double($0) * 1.5 })
        let b = Self.chunk([10, 20], value: { Double($0) })
        let result = try SeriesCompaction.merge([[a], [b]])
        #expect(!result.merged)
        #expect(result.chunks.map(\.chunk.bytes) == [a.chunk.bytes, b.chunk.bytes])
    }

    @Test func overlapKeepsEachTimestampOnceFirstChunkWins() throws {
        let a = Self.chunk([0, 10, 20], value: { _ in 1 })
        let b = Self.chunk([10, 15, 20, 25], value: { _ in 2 })
        let result = try SeriesCompaction.merge([[a], [b]])
        #expect(result.merged)
        let samples = try result.chunks.flatMap { try $0.chunk.decodeAll() }
        #expect(samples.map(\.timestamp) == [0, 10, 15, 20, 25])
        #expect(samples.map(\.value) == [1, 1, 2, 1, 2])
    }

    @Test func mergedSamplesAreCutEvery120() throws {
        let a = Self.chunk(Array(stride(from: 0, to: 600, by: 2)))  // 300 samples, one chunk
        let b = Self.chunk(Array(stride(from: 1, to: 600, by: 2)))
        let chunks = try SeriesCompaction.merge([[a], [b]]).chunks
        #expect(chunks.map { $0.chunk.count } == [120, 120, 120, 120, 120])
        #expect(try Self.times(chunks).flatMap { $0 } == Array(0..<600))
    }

    @Test func deletionsReencodeOnlyTouchedChunks() throws {
        let chunks = [Self.chunk([0, 1, 2]), Self.chunk([10, 11, 12]), Self.chunk([20, 21]), Self.chunk([30, 31])]
        let deleted = [TombstoneInterval(minTime: 11, maxTime: 11), TombstoneInterval(minTime: 19, maxTime: 22),
                       TombstoneInterval(minTime: 29, maxTime: 30)]
        let out = try Self.parent(chunks, deleted: deleted, minTime: .min, maxTime: .max)
        #expect(try Self.times(out) == [[0, 1, 2], [10, 12], [31]])
        #expect(out[0].chunk.bytes == chunks[0].chunk.bytes)
    }

    /// Prometheus 2.42 stops at a re-encoded chunk left empty and loses the chunks after it;
    /// we drop only the empty chunk.
    @Test func chunkEmptiedByTwoIntervalsDoesNotHideLaterChunks() throws {
        let chunks = [Self.chunk([0, 5]), Self.chunk([10, 20])]
        let deleted = [TombstoneInterval(minTime: 0, maxTime: 2), TombstoneInterval(minTime: 4, maxTime: 6)]
        let out = try Self.parent(chunks, deleted: deleted, minTime: .min, maxTime: .max)
        #expect(try Self.times(out) == [[10, 20]])
    }
}
