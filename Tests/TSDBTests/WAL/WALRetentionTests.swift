import Testing
import TSDBTestSupport
@testable import TSDB

/// The hook that lets an outside WAL reader (remote write) keep its unread segments through
/// a truncation, up to its cap.
@Suite(.heavy) struct WALRetentionTests {
    /// A database with 32 KiB segments and 1-minute blocks, filled with 10 minutes of
    /// samples (many segments) and compacted once; returns the WAL's first segment after.
    private func truncatedFirstSegment(register: ((DB) -> WALRetention.Token)?) throws -> (first: Int, last: Int, checkpoint: Int?) {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.walSegmentSize = 32 * 1024
            options.walCompression = .none
            options.blockRange = 60_000
            options.compactionEnabled = false
            options.maxFutureSkew = nil
            options.logger.logLevel = .critical
            let db = try DB.open(directory: dir, options: options)
            let token = register?(db)
            for i in 0..<600 {
                var app = try db.appender()
                for s in 0..<50 {
                    _ = try app.append(try Labels(["__name__": "m", "s": "\(s)"]), timestamp: Int64(i) * 1000, value: Double(i))
                }
                try app.commit()
            }
            try db.compact()
            let segments = try WALFormat.segments(in: dir + "/wal", sys: .system)
            let checkpoint = try WALFormat.latestCheckpoint(in: dir + "/wal", sys: .system)?.index
            if let token { db.walRetention.remove(token) }
            try db.close()
            return (segments.first ?? -1, segments.last ?? -1, checkpoint)
        }
    }

    @Test func truncationWithoutReadersDeletesSegments() throws {
        let r = try truncatedFirstSegment(register: nil)
        #expect(r.checkpoint != nil)
        #expect(r.first > 0)
    }

    @Test func aReaderKeepsTheSegmentsItHasNotRead() throws {
        let r = try truncatedFirstSegment { db in db.walRetention.register(maxRetainedSegments: 1000) { 0 } }
        #expect(r.first == 0, "segment 0 is still needed by the reader")
        #expect(r.checkpoint == nil)
    }

    @Test func aReaderPartWayKeepsFromItsSegment() throws {
        let r = try truncatedFirstSegment { db in db.walRetention.register(maxRetainedSegments: 1000) { 3 } }
        #expect(r.first == 3)
        #expect(r.checkpoint == 2)
    }

    @Test func truncationGoesAheadBeyondTheCap() throws {
        let unlimited = try truncatedFirstSegment(register: nil)
        let capped = try truncatedFirstSegment { db in db.walRetention.register(maxRetainedSegments: 4) { 0 } }
        // At most 4 segments below the one being written are kept for the reader.
        #expect(capped.first > 0)
        #expect(capped.first >= capped.last - 4)
        #expect(capped.first <= unlimited.first)
    }

    @Test func aReaderThatNeedsNothingHoldsNothingBack() throws {
        let unlimited = try truncatedFirstSegment(register: nil)
        let r = try truncatedFirstSegment { db in db.walRetention.register(maxRetainedSegments: 1000) { nil } }
        #expect(r.first == unlimited.first)
    }

    @Test func lowestRetainedTakesTheSlowestReaderWithinItsCap() {
        let retention = WALRetention()
        #expect(retention.lowestRetained(current: 10) == nil)
        let a = retention.register(maxRetainedSegments: 100) { 7 }
        let b = retention.register(maxRetainedSegments: 2) { 1 }
        #expect(retention.lowestRetained(current: 10) == 7)  // b is capped at 10 - 2 = 8
        retention.remove(a)
        #expect(retention.lowestRetained(current: 10) == 8)
        retention.remove(b)
        #expect(retention.lowestRetained(current: 10) == nil)
    }
}
