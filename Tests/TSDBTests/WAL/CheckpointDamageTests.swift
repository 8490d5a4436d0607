import Foundation
import Logging
import Metrics
import MetricsTestKit
import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

/// Prometheus issue 13152: damage in the middle of a finished WAL segment (bit rot, a bad
/// sector) made every checkpoint fail, so the WAL was never truncated and grew until the
/// disk was full. Here the checkpoint skips the damaged records, keeps every live series,
/// reports the damage, and the segments go.
@Suite(.heavy) struct CheckpointDamageTests {
    @Test func damageInAFinishedSegmentIsReportedAndTheWALStillTruncated() throws {
        try TemporaryDirectory.with { dir in
            let metrics = TestMetrics()
            var options = Options()
            options.blockRange = 60_000
            options.compactionEnabled = false
            options.walSegmentSize = 32 * 1024
            options.metricsFactory = metrics
            options.logger = Logger(label: "13152", factory: { _ in SwiftLogNoOpLogHandler() })
            var log = try CommitLog(seriesCount: 60, rng: SeededRandom(seed: 13152))
            var db = try DB.open(directory: dir, options: options)
            for k in 1...250 { #expect(log.commit(k, to: db) == nil) }
            let wal = dir + "/wal"
            #expect(try WALFormat.segments(in: wal, sys: .system).count >= 5)

            // Flip a byte inside the first record of segment 1: a checksum mismatch, not a
            // torn tail.
            let path = WALTest.segmentPath(wal, 1)
            var bytes = try TestFiles.read(path)
            let first = WALTest.header(bytes, at: 0)
            bytes[7 + first.length / 2] ^= 0xFF
            try TestFiles.write(bytes, to: path)

            // The round checkpoints segments 0...2 through the damage and deletes them.
            let written = try db.compact()
            #expect(!written.isEmpty)
            #expect(metrics.counterTotal(label: "prometheus_tsdb_wal_corruptions_total") == 1)
            let segments = try WALFormat.segments(in: wal, sys: .system)
            let checkpoint = try #require(try WALFormat.latestCheckpoint(in: wal, sys: .system))
            #expect(checkpoint.index >= 1, "the checkpoint covers the damaged segment")
            #expect(segments.first.map { $0 > checkpoint.index } ?? true, "segments up to \(checkpoint.index) are deleted: \(segments)")

            // Commits go on; a restart (no repair asked for) replays the checkpoint and the
            // rest, and loses only what the damaged records alone held in the head.
            for k in 251...260 { #expect(log.commit(k, to: db) == nil) }
            try db.close()
            db = try DB.open(directory: dir, options: options)
            defer { try? db.close() }
            #expect(db.replayStats.droppedBytes == 0)
            let present = Set(try log.committed(in: db))
            let blockEnd = written.map(\.maxTime).max() ?? 0
            for k in 1...260 where !present.contains(k) {
                let span = try #require(log.spans[k])
                // Lost: only commits whose records were in segment 1 and newer than the block.
                #expect(span.start.segment <= 1 && span.end.segment >= 1 && Int64(k) * 1000 >= blockEnd,
                        "commit \(k) (segments \(span.start.segment)...\(span.end.segment)) is missing")
            }
            #expect(present.filter { $0 < 0 }.isEmpty, "no commit is there in part")
            let lost = (1...260).filter { !present.contains($0) }
            print("13152: checkpoint \(checkpoint.name), WAL segments left \(segments), commits lost to the damage: \(lost.count) (\(lost.first.map(String.init) ?? "-")...\(lost.last.map(String.init) ?? "-")), block ends at \(blockEnd)")
            #expect(present.contains(260))
        }
    }

    /// The series record of every series sits in segment 0; damaging it must not cost the
    /// series their later samples after the checkpoint (the checkpoint writes the head's
    /// series first).
    @Test func damagedSeriesRecordsDoNotLoseTheSeries() throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.blockRange = 60_000
            options.compactionEnabled = false
            options.walSegmentSize = 32 * 1024
            options.logger = Logger(label: "13152", factory: { _ in SwiftLogNoOpLogHandler() })
            var log = try CommitLog(seriesCount: 60, rng: SeededRandom(seed: 1315))
            var db = try DB.open(directory: dir, options: options)
            for k in 1...250 { #expect(log.commit(k, to: db) == nil) }
            let path = WALTest.segmentPath(dir + "/wal", 0)
            var bytes = try TestFiles.read(path)
            let first = WALTest.header(bytes, at: 0)  // the series record of the first commit
            bytes[7 + first.length / 2] ^= 0xFF
            try TestFiles.write(bytes, to: path)
            let written = try db.compact()
            #expect(!written.isEmpty)
            try db.close()
            db = try DB.open(directory: dir, options: options)
            defer { try? db.close() }
            let present = Set(try log.committed(in: db))
            // Everything after segment 0 (which the block covers) is there for every series.
            for k in 1...250 where log.spans[k]!.start.segment >= 1 {
                #expect(present.contains(k), "commit \(k) is missing")
            }
        }
    }
}
