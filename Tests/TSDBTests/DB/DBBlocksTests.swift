import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The DB over blocks on disk: it opens the blocks in its directory and its queriers merge
/// them with the head.
@Suite(.heavy) struct DBBlocksTests {
    /// Blocks promtool wrote, dropped into a data directory, are queried through the public
    /// API exactly as `promtool tsdb dump` prints them.
    @Test(.enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
    func dbServesPromtoolBlocks() throws {
        try TemporaryDirectory.with { dir in
            let data = dir + "/data"
            try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", "--quiet", Repository.path("Fixtures/chunks/input.om"), data])
            let expected = try PromtoolDump.run(data)
            let db = try DB.open(directory: data)
            #expect(db.blocks.count == 16)
            #expect(db.blockWarnings.isEmpty)
            let all = try db.querier(minTime: .min, maxTime: .max).select([try Matcher(.regexMatch, "__name__", ".+")])
            var got: DumpedSamples = [:]
            for s in all { got[Array("\(s.labels)".utf8)] = s.samples.map { ($0.timestamp, $0.value) } }
            PromtoolDump.expectEqual(got, expected, "DB over promtool blocks")
            let names = try db.querier(minTime: .min, maxTime: .max).labelValues("__name__")
            #expect(names.contains("fx_http_requests_total") && names.contains("fx_unicode_labels"))
            try db.close()
        }
    }

    /// Two overlapping blocks and the head hold parts of one series, the blocks with some
    /// samples in common: a query returns each timestamp once, in order, and the overlap is
    /// reported. The head accepts nothing older than the newest block's end.
    @Test func overlappingBlocksAndHeadMerge() throws {
        try TemporaryDirectory.with { dir in
            let labels = try Labels(["__name__": "m", "job": "a"])
            func chunk(_ ts: [Int64]) -> ChunkMeta {
                ChunkMeta(chunk: XORChunk(encoding: ts.map { Sample(timestamp: $0, value: Double($0)) }), minTime: ts.first!, maxTime: ts.last!)
            }
            _ = try BlockWriter.write(directory: dir, series: [(labels, [chunk([0, 10, 20, 30])])], minTime: 0, maxTime: 31, sys: .system)
            _ = try BlockWriter.write(directory: dir, series: [(labels, [chunk([20, 25, 30, 40])])], minTime: 20, maxTime: 41, sys: .system)
            let db = try DB.open(directory: dir)
            #expect(db.blocks.count == 2)
            #expect(db.blockWarnings.count == 1)
            var app = try db.appender()
            #expect(throws: TSDBError.self) { try app.append(labels, timestamp: 40, value: 40) }
            for t in [Int64(45), 50, 60] { try app.append(labels, timestamp: t, value: Double(t)) }
            try app.commit()
            let q = try db.querier(minTime: 5, maxTime: 55)
            let got = try q.select("m")
            #expect(got.count == 1)
            #expect(got.first?.samples.map(\.timestamp) == [10, 20, 25, 30, 40, 45, 50])
            #expect(got.first?.samples.allSatisfy { $0.value == Double($0.timestamp) } == true)
            // A querier keeps its blocks readable after the database is closed.
            try db.close()
            #expect(try q.select("m").first?.samples.count == 7)
        }
    }

    /// Queries only touch blocks overlapping their range, and a block's end is exclusive.
    @Test func queriersSkipBlocksOutsideTheirRange() throws {
        try TemporaryDirectory.with { dir in
            let labels = try Labels(["__name__": "m"])
            let samples = (0..<10).map { Sample(timestamp: Int64($0) * 100, value: 1) }
            let c = ChunkMeta(chunk: XORChunk(encoding: samples), minTime: 0, maxTime: 900)
            _ = try BlockWriter.write(directory: dir, series: [(labels, [c])], minTime: 0, maxTime: 901, sys: .system)
            let db = try DB.open(directory: dir)
            #expect(try db.querier(minTime: 901, maxTime: 5000).select("m").isEmpty)
            #expect(try db.querier(minTime: 900, maxTime: 5000).select("m").first?.samples.count == 1)
            #expect(try db.querier(minTime: 901, maxTime: 5000).labelNames().isEmpty)
            try db.close()
        }
    }
}
