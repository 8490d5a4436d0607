import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// `DB.delete`: tombstones in the head (WAL-logged) and in blocks, across restarts, and as
/// promtool reads them.
@Suite(.heavy) struct DBDeleteTests {
    static let hour: Int64 = 3_600_000

    /// 20 series `m{i, job}`, a sample every minute over `hours`.
    static func ingest(_ db: DB, from: Int64 = 0, hours: Int64) throws -> [Labels: [Sample]] {
        var model: [Labels: [Sample]] = [:]
        let labels = try (0..<20).map { try Labels(["__name__": "m", "i": "\($0)", "job": $0 % 2 == 0 ? "a" : "b"]) }
        var t = from
        while t < from + hours * hour {
            var app = try db.appender()
            for (i, l) in labels.enumerated() {
                let v = Double(t / 60_000 + Int64(i))
                try app.append(l, timestamp: t, value: v)
                model[l, default: []].append(Sample(timestamp: t, value: v))
            }
            try app.commit()
            t += 60_000
        }
        return model
    }

    static func apply(_ model: inout [Labels: [Sample]], job: String, _ range: ClosedRange<Int64>) {
        for (l, samples) in model where l["job"] == job {
            model[l] = samples.filter { !range.contains($0.timestamp) }
        }
        model = model.filter { !$0.value.isEmpty }
    }

    /// One hour keeps every chunk open; three hours close some, which go to `chunks_head/`
    /// and come back from there on reopen, with the tombstones still applied.
    @Test(arguments: [Int64(1), 3])
    func deleteInTheHeadSurvivesRestart(hours: Int64) throws {
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: Options.manualCompaction())
            var model = try Self.ingest(db, hours: hours)
            try db.delete("m{job=\"a\"}", minTime: 600_000, maxTime: 1_200_000)
            Self.apply(&model, job: "a", 600_000...1_200_000)
            try ModelQuery.expect(db, model, "after delete")
            // Samples appended later stay visible, even inside a range deleted up to the end.
            try db.delete("m{job=\"b\"}", minTime: 3_000_000, maxTime: .max)
            Self.apply(&model, job: "b", 3_000_000...Int64.max)
            var app = try db.appender()
            let late = try Labels(["__name__": "m", "i": "1", "job": "b"])
            try app.append(late, timestamp: (hours + 3) * Self.hour, value: 42)
            try app.commit()
            model[late, default: []].append(Sample(timestamp: (hours + 3) * Self.hour, value: 42))
            try ModelQuery.expect(db, model, "after a later append")
            try db.close()

            db = try DB.open(directory: dir, options: Options.manualCompaction())
            #expect(db.replayStats.tombstones == 20)
            try ModelQuery.expect(db, model, "after restart")
            try db.close()
        }
    }

    @Test func deleteInBlocksAndHeadAcrossABlockBoundary() throws {
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: Options.manualCompaction())
            var model = try Self.ingest(db, hours: 7)
            try db.compact()
            #expect(db.blocks.count >= 2)
            // From inside the first block, over a boundary, into the head.
            let range: ClosedRange<Int64> = (1 * Self.hour + 7)...(5 * Self.hour + 30 * 60_000)
            try db.delete("m{job=\"a\"}", minTime: range.lowerBound, maxTime: range.upperBound)
            Self.apply(&model, job: "a", range)
            try ModelQuery.expect(db, model, "after delete")
            let withStones = db.blocks.filter { $0.stats.numTombstones > 0 }
            #expect(withStones.count == 2, "the blocks [0, 2h) and [2h, 4h) hold deleted samples")
            try db.close()

            db = try DB.open(directory: dir, options: Options.manualCompaction())
            try ModelQuery.expect(db, model, "after restart")
            // The head's deletion is cut into the next block with the data: the block holds
            // no deleted sample and the head forgets the tombstones (Prometheus issue 9108).
            model.merge(try Self.ingest(db, from: 7 * Self.hour, hours: 3)) { $0 + $1 }
            try db.compact()
            #expect(db.head.tombstones.isEmpty)
            try ModelQuery.expect(db, model, "after cutting the deletion into a block")
            try db.close()

            if Promtool.isAvailable {
                let dumped = try PromtoolDump.run(dir)
                var expected: DumpedSamples = [:]
                for (l, s) in model { expected[Array("\(l)".utf8)] = s.map { ($0.timestamp, $0.value) } }
                PromtoolDump.expectEqual(dumped, expected, "promtool dump after deletes")
            }
        }
    }

    /// Options whose WAL segments are small, so that checkpoints drop old segments (with the
    /// tombstones in them) within a few hours of data.
    static func smallSegments() -> Options {
        var o = Options.manualCompaction()
        o.walSegmentSize = 32 * 1024
        return o
    }

    /// Closes `db`, reopens `dir` and compares it with `model`.
    static func expectModelAfterReopening(_ db: DB, _ dir: String, _ options: Options, _ model: SampleModel) throws {
        try db.close()
        let reopened = try DB.open(directory: dir, options: options)
        defer { try? reopened.close() }
        try ModelQuery.expect(reopened, model, "after reopening")
    }

    /// A block whose samples are all deleted goes away at `cleanTombstones`; its samples
    /// must not come back on reopen from WAL segments not yet checkpointed or from head
    /// chunk files that still hold them (the next open replays whatever no block covers).
    @Test func aBlockDeletedWholeStaysDeletedAfterARestart() throws {
        try TemporaryDirectory.with { dir in
            let options = Self.smallSegments()
            let db = try DB.open(directory: dir, options: options)
            var model = try Self.ingest(db, hours: 9)
            try db.compact()
            #expect(db.blocks.map(\.maxTime).max() == 6 * Self.hour)
            try db.delete("m", minTime: 4 * Self.hour, maxTime: 6 * Self.hour - 1)
            for (l, s) in model { model[l] = s.filter { !(4 * Self.hour..<6 * Self.hour).contains($0.timestamp) } }
            try db.cleanTombstones()
            #expect(db.blocks.map(\.maxTime).max() == 4 * Self.hour, "the emptied block is gone")
            try ModelQuery.expect(db, model, "after cleaning")
            try Self.expectModelAfterReopening(db, dir, options, model)
        }
    }

    /// A head range whose samples are all deleted is cut with no block to hold it; its
    /// samples must not come back on reopen either.
    @Test func aHeadRangeDeletedWholeStaysDeletedAfterARestart() throws {
        try TemporaryDirectory.with { dir in
            let options = Self.smallSegments()
            let db = try DB.open(directory: dir, options: options)
            var model = try Self.ingest(db, hours: 9)
            try db.compact()
            try db.delete("m", minTime: 6 * Self.hour, maxTime: 8 * Self.hour - 1)
            for (l, s) in model { model[l] = s.filter { !(6 * Self.hour..<8 * Self.hour).contains($0.timestamp) } }
            model.merge(try Self.ingest(db, from: 9 * Self.hour, hours: 4)) { $0 + $1 }
            let written = try db.compact()
            #expect(!written.contains { $0.minTime >= 6 * Self.hour && $0.minTime < 8 * Self.hour }, "no block for the deleted range")
            try ModelQuery.expect(db, model, "after the cut")
            try Self.expectModelAfterReopening(db, dir, options, model)
        }
    }

    @Test func deleteRejectsBadArgumentsAndReadOnly() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Options.manualCompaction())
            #expect(throws: TSDBError.self) { try db.delete([], minTime: 0, maxTime: 1) }
            #expect(throws: TSDBError.self) { try db.delete("m", minTime: 2, maxTime: 1) }
            try db.close()
            let ro = try DB.openReadOnly(directory: dir)
            #expect(throws: TSDBError.self) { try ro.delete("m", minTime: 0, maxTime: 1) }
            try ro.close()
        }
    }
}
