import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The head writes its closed chunks to `chunks_head/` and a reopen loads them instead of
/// replaying their samples (FORMAT.md §13.4–13.5).
@Suite(.heavy) struct HeadChunkReplayTests {
    static let step: Int64 = 15_000
    static let hour: Int64 = 3_600_000

    /// Appends every `step` in `[from, to)` for 200 series; updates `model`.
    static func ingest(_ db: DB, from: Int64, to: Int64, into model: inout [Labels: [Sample]]) throws {
        let labels = try (0..<200).map { try Labels(["__name__": "m", "i": "\($0)"]) }
        var t = from
        while t < to {
            var app = try db.appender()
            for (i, l) in labels.enumerated() {
                let v = Double(t / step) * 1.5 + Double(i)
                try app.append(l, timestamp: t, value: v)
                model[l, default: []].append(Sample(timestamp: t, value: v))
            }
            try app.commit()
            t += step
        }
    }

    @Test func reopeningLoadsHeadChunksAndSkipsTheirWALSamples() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            let db = try DB.open(directory: dir, options: Options.manualCompaction())
            try Self.ingest(db, from: 1_000, to: 5 * Self.hour, into: &model)
            let total = model.values.reduce(0) { $0 + $1.count }
            let written = db.head.headChunks.chunksWritten
            #expect(written == 200 * 9, "4 chunks of 30 min in each 2 h range, the tenth still open")
            try db.close()
            #expect(try HeadChunkFormat.fileSequences(in: dir + "/chunks_head", sys: .system) == [1])

            let again = try DB.open(directory: dir, options: Options.manualCompaction())
            let stats = again.replayStats
            #expect(stats.notes.isEmpty, "\(stats.notes)")
            #expect(stats.headChunks == written)
            #expect(stats.samples == total)
            #expect(stats.headChunkSamples > total / 2)
            #expect(stats.outOfOrder == 0)
            try ModelQuery.expect(again, model, "after loading chunks_head")
            #expect(again.headTimeRange == 1_000...model.values.first!.last!.timestamp)
            // Appends go on: newer samples append, the newest one again is a duplicate.
            var app = try again.appender()
            let l = try Labels(["__name__": "m", "i": "3"])
            let last = model[l]!.last!
            #expect(throws: TSDBError.self) { try app.append(l, timestamp: last.timestamp, value: last.value + 1) }
            try app.append(l, timestamp: last.timestamp, value: last.value)
            try app.commit()
            try again.close()

            // The same directory without chunks_head replays the WAL in full, to the same head.
            try FileManager.default.removeItem(atPath: dir + "/chunks_head")
            let full = try DB.open(directory: dir, options: Options.manualCompaction())
            #expect(full.replayStats.headChunks == 0)
            #expect(full.replayStats.samples == total)
            try ModelQuery.expect(full, model, "after a full WAL replay")
            try full.close()
            // ... and wrote the chunks it cut while replaying.
            let third = try DB.open(directory: dir, options: Options.manualCompaction())
            #expect(third.replayStats.headChunks == written)
            try ModelQuery.expect(third, model, "after loading the chunks the replay wrote")
            try third.close()
        }
    }

    /// Reading only: `chunks_head/` is neither read nor written; the WAL gives everything.
    @Test func readOnlyOpenReplaysTheWALAlone() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            let db = try DB.open(directory: dir, options: Options.manualCompaction())
            try Self.ingest(db, from: 1_000, to: 3 * Self.hour, into: &model)
            try db.close()
            let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/chunks_head/000001"))
            let reader = try DB.openReadOnly(directory: dir)
            #expect(reader.replayStats.headChunks == 0)
            try ModelQuery.expect(reader, model, "read-only")
            try reader.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/chunks_head/000001")) == before)
            #expect(try HeadChunkFormat.fileSequences(in: dir + "/chunks_head", sys: .system) == [1])
        }
    }

    /// Cutting blocks truncates the head, and with it the head chunk files whose chunks are
    /// all in blocks now; what stays reopens to the same data.
    @Test func headTruncationDeletesOldFiles() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            let db = try DB.open(directory: dir, options: Options.manualCompaction())
            try Self.ingest(db, from: 1_000, to: 5 * Self.hour, into: &model)
            #expect(try db.compact().count >= 1)  // [0, 2 h): file 1 is finished, its later chunks keep it
            #expect(try HeadChunkFormat.fileSequences(in: dir + "/chunks_head", sys: .system) == [1])
            try Self.ingest(db, from: 5 * Self.hour + 1_000, to: 10 * Self.hour, into: &model)
            #expect(try db.compact().count >= 3)  // up to 8 h; file 1 ends at about 5 h
            let files = try HeadChunkFormat.fileSequences(in: dir + "/chunks_head", sys: .system)
            #expect(!files.contains(1) && files.first == 2, "\(files)")
            try db.close()
            let again = try DB.open(directory: dir, options: Options.manualCompaction())
            #expect(again.replayStats.notes.isEmpty, "\(again.replayStats.notes)")
            #expect(again.replayStats.headChunks > 0)
            try ModelQuery.expect(again, model, "blocks and head after reopening")
            try again.close()
        }
    }

    /// The newest sample's value, when it comes from a loaded chunk, is decoded for the
    /// duplicate check.
    @Test func lastValueOfALoadedChunkDecidesDuplicates() {
        let c = HeadChunkFileTests.chunk(5, from: 0, value: 10)
        var st = SeriesState()
        st.attach([ChunkMeta(chunk: XORChunk(bytes: c.data), minTime: c.minTime, maxTime: c.maxTime)])
        #expect(st.maxTime == 60_000)
        var copy = st
        #expect(copy.commit(timestamp: 60_000, value: 14, options: ChunkOptions()) == .duplicate)
        #expect(st.commit(timestamp: 60_000, value: 15, options: ChunkOptions()) == .outOfOrder)
        #expect(st.commit(timestamp: 59_000, value: 15, options: ChunkOptions()) == .outOfOrder)
        #expect(st.commit(timestamp: 75_000, value: 15, options: ChunkOptions()) == .appended)
        #expect(st.closed.count == 1 && st.encoder.count == 1)
    }
}
