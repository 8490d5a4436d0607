import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Cutting the head into blocks: every sample stays queryable, across the cut, after a
/// restart, and to promtool.
@Suite(.heavy) struct HeadCompactionTests {
    static let hour: Int64 = 3_600_000
    static let step: Int64 = 15_000

    /// 200 series, one sample every 15 s for 7 h, one transaction per scrape.
    static func ingest(_ db: DB, hours: Int64 = 7) throws -> [Labels: [Sample]] {
        let labels = try (0..<200).map { try Labels(["__name__": "m", "i": "\($0)", "job": $0 % 2 == 0 ? "a" : "b"]) }
        var model: [Labels: [Sample]] = [:]
        var refs: [SeriesRef?] = Array(repeating: nil, count: labels.count)
        var t: Int64 = 1_000
        while t < hours * hour {
            var app = try db.appender()
            for (i, l) in labels.enumerated() {
                let v = Double(t / step) + Double(i) / 1000
                if let r = refs[i] { try app.append(r, timestamp: t, value: v) } else { refs[i] = try app.append(l, timestamp: t, value: v) }
                model[l, default: []].append(Sample(timestamp: t, value: v))
            }
            try app.commit()
            t += step
        }
        return model
    }

    @Test func cutsBlocksTruncatesTheHeadAndKeepsEverySample() throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.compactionEnabled = false
            let db = try DB.open(directory: dir, options: options)
            let model = try Self.ingest(db)
            let before = try db.querier(minTime: .min, maxTime: .max)  // made before the cut
            let metas = try db.compact()
            // 7 h of data: up to 2 h and up to 4 h are cut, each block starting at its oldest
            // sample as Prometheus's do; 3 h remain in the head.
            #expect(metas.map(\.minTime) == [1_000, 2 * Self.hour + 1_000])
            #expect(metas.map(\.maxTime) == [2 * Self.hour, 4 * Self.hour])
            #expect(metas.allSatisfy { $0.stats.numSeries == 200 })
            #expect((db.headTimeRange?.lowerBound ?? 0) >= 4 * Self.hour)
            #expect(db.headSeriesCount == 200)
            try ModelQuery.expect(db, model, "after the cut")
            // A querier made before the cut finds the new blocks.
            #expect(try before.select("m").first?.samples.count == model.values.first?.count)
            // Old appends are refused now.
            var app = try db.appender()
            #expect(throws: TSDBError.self) { try app.append(try Labels(["__name__": "m", "i": "0", "job": "a"]), timestamp: 1_000_000, value: 1) }
            app.rollback()
            // As Prometheus, the WAL is not checkpointed while it has fewer than two segments
            // before the one being written: the cut only started a new segment.
            let walNames = try FileManager.default.contentsOfDirectory(atPath: dir + "/wal").sorted()
            #expect(walNames == ["00000000", "00000001"], "\(walNames)")
            try db.close()

            let reopened = try DB.open(directory: dir, options: options)
            #expect(reopened.blocks.count == 2)
            try ModelQuery.expect(reopened, model, "after reopening")
            try reopened.close()

            if Promtool.isAvailable {
                let dumped = try PromtoolDump.run(dir)
                var expected: DumpedSamples = [:]
                for (l, samples) in model { expected[Array("\(l)".utf8)] = samples.map { ($0.timestamp, $0.value) } }
                PromtoolDump.expectEqual(dumped, expected, "promtool over our blocks, checkpoint and WAL")
            }
        }
    }

    @Test func seriesWithoutRecentSamplesLeaveTheHead() throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.compactionEnabled = false
            let db = try DB.open(directory: dir, options: options)
            var app = try db.appender()
            try app.append(try Labels(["__name__": "old"]), timestamp: 1_000, value: 1)
            try app.commit()
            _ = try Self.ingest(db, hours: 4)
            #expect(db.headSeriesCount == 201)
            try db.compact()
            #expect(db.headSeriesCount == 200)
            // Still queryable, from the block.
            #expect(try db.querier(minTime: .min, maxTime: .max).select("old").first?.samples.count == 1)
            try db.close()
        }
    }

    /// An appender made before a cut may still hold samples the new block's range covers:
    /// its commit drops exactly those, from memory and WAL alike, and keeps the rest.
    @Test func staleAppenderLosesOnlyItsSamplesBelowTheCut() throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.compactionEnabled = false
            let db = try DB.open(directory: dir, options: options)
            let m = try Labels(["__name__": "m"])
            func ingest(from: Int64, to: Int64) throws {
                var t = from
                while t < to {
                    var app = try db.appender()
                    try app.append(m, timestamp: t, value: 1)
                    try app.commit()
                    t += Self.step
                }
            }
            try ingest(from: 1_000, to: 5 * Self.hour / 2)
            // Made at 2.5 h, this appender accepts anything from 1.5 h on.
            let late = try Labels(["__name__": "late"])
            var stale = try db.appender()
            try ingest(from: 5 * Self.hour / 2, to: 4 * Self.hour + 60_000)
            try stale.append(late, timestamp: 6_000_000, value: 1)       // 1.67 h: in the first block's range
            try stale.append(late, timestamp: 4 * Self.hour, value: 2)   // after it
            #expect(try db.compact().count == 1)
            let dropped = db.head.stats.droppedAtCommit.load(ordering: .relaxed)
            try stale.commit()
            #expect(db.head.stats.droppedAtCommit.load(ordering: .relaxed) == dropped + 1)
            let got = try db.querier(minTime: .min, maxTime: .max).select("late")
            #expect(got.first?.samples.map(\.timestamp) == [4 * Self.hour])
            try db.close()
            let reopened = try DB.open(directory: dir, options: options)
            #expect(try reopened.querier(minTime: .min, maxTime: .max).select("late").first?.samples.map(\.timestamp) == [4 * Self.hour])
            try reopened.close()
        }
    }

    @Test func compactionRunsInTheBackground() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir)
            let model = try Self.ingest(db)
            let deadline = Date().addingTimeInterval(20)
            while db.blocks.count < 2 && Date() < deadline { usleep(50_000) }
            #expect(db.blocks.count == 2)
            try ModelQuery.expect(db, model, "after background compaction")
            try db.close()
        }
    }

    /// With small segments the WAL has many before the one being written: the cut
    /// checkpoints the first two thirds of them, as Prometheus, and a reopen still finds
    /// every sample.
    @Test func checkpointsOnceThereAreEnoughSegments() throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.compactionEnabled = false
            options.walSegmentSize = 4 * 32 * 1024
            let db = try DB.open(directory: dir, options: options)
            let model = try Self.ingest(db)
            try db.compact()
            let walNames = try FileManager.default.contentsOfDirectory(atPath: dir + "/wal")
            #expect(walNames.contains { $0.hasPrefix("checkpoint.") }, "\(walNames)")
            #expect(!walNames.contains("00000000"), "checkpointed segments are removed: \(walNames)")
            try db.close()
            let reopened = try DB.open(directory: dir, options: options)
            try ModelQuery.expect(reopened, model, "after reopening")
            try reopened.close()
        }
    }
}
