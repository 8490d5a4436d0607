import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Found by the `replay` fuzz target: samples logged before their series' record (which no
/// writer does, but a damaged or hand-made WAL can hold) are unknown references to the
/// sequential reader, as in Prometheus; the parallel replay must count them the same way
/// whatever the number of threads, not apply them when another thread has already created
/// the series from a later record.
@Suite(.heavy) struct ReplayOrderTests {
    /// Samples of reference 1 filling a few pages, then its series record; a series on the
    /// other shard (2) first, so that a second thread has something of its own.
    static func writeWAL(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let wal = try WAL(directory: directory, options: WALOptions(segmentSize: 1 << 20, compression: .none), sys: .system)
        var w = ByteWriter()
        RecordEncoder.series([RefSeries(ref: 2, labels: try Labels(["__name__": "m", "s": "two"]))], into: &w)
        try wal.log([w.bytes])
        var t: Int64 = 1_000
        for _ in 0..<12 {
            var batch: [RefSample] = []
            for _ in 0..<2_000 {
                t += 1
                batch.append(RefSample(ref: 1, timestamp: t, value: 1))
                batch.append(RefSample(ref: 2, timestamp: t, value: 2))
            }
            var s = ByteWriter()
            RecordEncoder.samples(batch, into: &s)
            try wal.log([s.bytes])
        }
        var late = ByteWriter()
        RecordEncoder.series([RefSeries(ref: 1, labels: try Labels(["__name__": "m", "s": "one"]))], into: &late)
        try wal.log([late.bytes])
        try wal.close()
    }

    @Test func samplesBeforeTheirSeriesAreUnknownWithAnyThreadCount() throws {
        try TemporaryDirectory.with { dir in
            try Self.writeWAL(dir + "/wal")
            for tuning in [ReplayTuning(threads: 1, pieces: 1), ReplayTuning(threads: 2, pieces: 1), ReplayTuning(threads: 3, pieces: 1)] {
                for round in 0..<5 {
                    var options = Options()
                    options.replayTuning = tuning
                    let db = try DB.openReadOnly(directory: dir, options: options)
                    let stats = db.replayStats
                    try db.close()
                    #expect(stats.series == 2)
                    #expect(stats.unknownRefs == 24_000, "threads \(tuning.threads), round \(round)")
                    #expect(stats.samples == 24_000, "threads \(tuning.threads), round \(round)")
                }
            }
        }
    }
}
