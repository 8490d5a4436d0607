import Foundation
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The database's maintenance round through the public API: leveled compaction of the blocks
/// the head is cut into, retention by time and size, tombstone cleanup under a full disk,
/// snapshots and self-metrics.
@Suite(.heavy) struct MaintenanceTests {
    static let hour: Int64 = 3_600_000

    /// 10 series `m{i}` with a sample a minute from `from` for `hours`, committed per minute.
    @discardableResult
    static func ingest(_ db: DB, from: Int64 = 0, hours: Int64, model: inout [Labels: [Sample]]) throws -> Int64 {
        let labels = try (0..<10).map { try Labels(["__name__": "m", "i": "\($0)"]) }
        var t = from
        while t < from + hours * hour {
            var app = try db.appender()
            for (i, l) in labels.enumerated() {
                let v = Double(t / 60_000) + Double(i) / 10
                try app.append(l, timestamp: t, value: v)
                model[l, default: []].append(Sample(timestamp: t, value: v))
            }
            try app.commit()
            t += 60_000
        }
        return t
    }

    @Test func headBlocksAreMergedIntoLevels() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            var db = try DB.open(directory: dir, options: Options.manualCompaction())
            try Self.ingest(db, hours: 21, model: &model)
            try db.compact()
            // 0–18 h merged into one 18 h block; the newest 2 h blocks stay as Prometheus keeps them.
            // What Prometheus's planner makes of nine 2 h blocks: [0, 6) and [6, 12) are full
            // 6 h ranges; [12, 16) is neither full nor before the second-newest block (the
            // newest is never planned), so it waits for the next block.
            let metas = db.blocks
            #expect(metas.map { "\($0.minTime / Self.hour)-\($0.maxTime / Self.hour)h L\($0.compaction.level)" }
                    == ["0-6h L2", "6-12h L2", "12-14h L1", "14-16h L1", "16-18h L1"])
            for (a, b) in zip(metas, metas.dropFirst()) { #expect(a.maxTime <= b.minTime, "blocks overlap") }
            try ModelQuery.expect(db, model, "after compaction")
            try db.close()
            db = try DB.open(directory: dir, options: Options.manualCompaction())
            #expect(db.blockWarnings.isEmpty)
            try ModelQuery.expect(db, model, "after restart")
            try db.close()
            if Promtool.isAvailable {
                var expected: DumpedSamples = [:]
                for (l, s) in model { expected[Array("\(l)".utf8)] = s.map { ($0.timestamp, $0.value) } }
                PromtoolDump.expectEqual(try PromtoolDump.run(dir), expected, "promtool dump of compacted blocks")
                try Promtool.run(["tsdb", "analyze", dir])
            }
        }
    }

    @Test func timeRetentionDeletesWhollyOldBlocks() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            let db = try DB.open(directory: dir, options: Options.manualCompaction { $0.retentionDuration = 5 * Self.hour; $0.maxBlockDuration = 2 * Self.hour })
            let end = try Self.ingest(db, hours: 11, model: &model)
            try db.compact()
            let newest = end - 60_000
            #expect(!db.blocks.isEmpty)
            for m in db.blocks { #expect(m.maxTime > newest - 5 * Self.hour, "block \(m.minTime)–\(m.maxTime) is beyond retention") }
            // What is left is exactly the samples of the surviving blocks and the head.
            let oldest = db.blocks.map(\.minTime).min()!
            for (l, s) in model { model[l] = s.filter { $0.timestamp >= oldest } }
            try ModelQuery.expect(db, model, "after time retention")
            #expect(try !FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.hasSuffix(".tmp-for-deletion") })
            try db.close()
        }
    }

    /// 2 h blocks of 10 series, a sample a minute, written straight to `dir`.
    static func writeBlocks(_ dir: String, count: Int, model: inout [Labels: [Sample]]) throws {
        let labels = try (0..<10).map { try Labels(["__name__": "m", "i": "\($0)"]) }
        for b in 0..<Int64(count) {
            var series: [(labels: Labels, chunks: [ChunkMeta])] = []
            for (i, l) in labels.enumerated() {
                var chunks: [ChunkMeta] = []
                for c in 0..<Int64(1) {
                    let start = b * 2 * hour + c * 2 * hour
                    let samples = (0..<Int64(120)).map { Sample(timestamp: start + $0 * 60_000, value: Double($0 * 7 + Int64(i))) }
                    chunks.append(ChunkMeta(chunk: XORChunk(encoding: samples), minTime: samples.first!.timestamp, maxTime: samples.last!.timestamp))
                    model[l, default: []] += samples
                }
                series.append((l, chunks))
            }
            try BlockWriter.write(directory: dir, series: series, minTime: b * 2 * hour, maxTime: (b + 1) * 2 * hour, sys: .system)
        }
    }

    /// Size retention keeps blocks + WAL under the limit, and the limit holds even at the
    /// moment a compaction's new block is renamed into place, before its parents go: the
    /// room the merge needs is made first by deleting the oldest blocks (Prometheus issue
    /// 8884 overshot here).
    @Test func sizeRetentionNeverOvershootsEvenDuringCompaction() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            try Self.writeBlocks(dir, count: 24, model: &model)
            let full = DiskUsage.bytes(under: dir, sys: .system)
            let limit = full * 6 / 10
            let peak = Mutex<Int64>(0)
            var options = Options.manualCompaction { $0.retentionSize = limit; $0.maxBlockDuration = 18 * Self.hour }
            let real = options.syscalls
            // The moment of most bytes: a merged block complete, its parents not yet gone.
            options.syscalls.rename = { from, to in
                if from.hasSuffix(".tmp-for-creation") {
                    let used = DiskUsage.bytes(under: dir, sys: .system)
                    peak.withLock { $0 = max($0, used) }
                }
                return real.rename(from, to)
            }
            let db = try DB.open(directory: dir, options: options)
            try db.compact()
            let used = DiskUsage.bytes(under: dir, sys: .system)
            #expect(used <= limit, "after compaction: \(used) > \(limit)")
            #expect(peak.withLock { $0 } <= limit, "at a rename the directory held \(peak.withLock { $0 }) bytes, over the limit \(limit)")
            let metas = db.blocks
            #expect(metas.contains { $0.compaction.level > 1 }, "blocks were merged")
            #expect(metas.first!.minTime > 0, "the oldest blocks went")
            #expect(metas.last!.maxTime == 48 * Self.hour, "the newest block stays")
            for (a, b) in zip(metas, metas.dropFirst()) { #expect(a.maxTime <= b.minTime, "blocks overlap") }
            // What is left is every sample from the oldest block kept on.
            let oldest = metas.first!.minTime
            for (l, s) in model { model[l] = s.filter { $0.timestamp >= oldest } }
            try ModelQuery.expect(db, model, "after size retention")
            try db.close()
        }
    }

    /// A full disk part-way through cleaning tombstones leaves the blocks not yet rewritten
    /// as they were: nothing lost, no overlap, no leftovers, and the next try succeeds.
    @Test func cleanTombstonesWithENOSPCPartWay() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            let failAfter = Atomic<Int>(Int.max)
            var options = Options.manualCompaction { $0.maxBlockDuration = 2 * Self.hour }
            let real = options.syscalls
            options.syscalls.write = { fd, bytes in
                if failAfter.subtract(1, ordering: .relaxed).newValue < 0 { return -Int(ENOSPC) }
                return real.write(fd, bytes)
            }
            var db = try DB.open(directory: dir, options: options)
            try Self.ingest(db, hours: 9, model: &model)
            try db.compact()
            let before = db.blocks
            #expect(before.count >= 3)
            try db.delete("m{i=~\"[0-4]\"}", minTime: 30 * 60_000, maxTime: 5 * Self.hour)
            for (l, s) in model where ["0", "1", "2", "3", "4"].contains(l["i"]!) {
                model[l] = s.filter { !(30 * 60_000...5 * Self.hour).contains($0.timestamp) }
            }
            // The first rewrite succeeds, the second runs out of space.
            for budget in [40, 80, 160, 320, 640] {
                failAfter.store(budget, ordering: .relaxed)
                do {
                    try db.cleanTombstones()
                    break
                } catch let error as TSDBError {
                    #expect(error.code == .io)
                }
                failAfter.store(Int.max, ordering: .relaxed)
                try ModelQuery.expect(db, model, "after a failed clean with budget \(budget)")
                let metas = db.blocks
                for (a, b) in zip(metas, metas.dropFirst()) { #expect(a.maxTime <= b.minTime, "blocks overlap") }
                #expect(try !FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.contains(".tmp-for-") })
            }
            failAfter.store(Int.max, ordering: .relaxed)
            try db.cleanTombstones()
            #expect(db.blocks.allSatisfy { $0.stats.numTombstones == 0 })
            try ModelQuery.expect(db, model, "after cleaning")
            try db.close()
            db = try DB.open(directory: dir, options: Options.manualCompaction())
            #expect(db.blockWarnings.isEmpty)
            try ModelQuery.expect(db, model, "after restart")
            try db.close()
        }
    }

    @Test func snapshotIsAConsistentOpenableCopy() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            let db = try DB.open(directory: dir + "/data", options: Options.manualCompaction())
            let end = try Self.ingest(db, hours: 5, model: &model)
            try db.compact()
            try db.delete("m{i=\"3\"}", minTime: 0, maxTime: 60 * 60_000)
            let l3 = try Labels(["__name__": "m", "i": "3"])
            model[l3] = model[l3]!.filter { $0.timestamp > 60 * 60_000 }
            let metas = try db.snapshot(to: dir + "/snap", includeHead: true)
            #expect(metas.count == db.blocks.count + 1)
            // Writes go on; the snapshot does not see them.
            var scratch: [Labels: [Sample]] = [:]
            try Self.ingest(db, from: end, hours: 1, model: &scratch)
            #expect(throws: TSDBError.self) { try db.snapshot(to: dir + "/snap", includeHead: false) }
            #expect(throws: TSDBError.self) { try db.snapshot(to: dir + "/data/inner", includeHead: false) }
            try db.close()

            let copy = try DB.open(directory: dir + "/snap", options: Options.manualCompaction())
            try ModelQuery.expect(copy, model, "snapshot")
            try copy.close()
            if Promtool.isAvailable { try Promtool.run(["tsdb", "analyze", dir + "/snap"]) }
        }
    }

    @Test func selfMetricsReachTheInjectedFactory() throws {
        try TemporaryDirectory.with { dir in
            let metrics = TestMetrics()
            var model: [Labels: [Sample]] = [:]
            let db = try DB.open(directory: dir, options: Options.manualCompaction { $0.metricsFactory = metrics; $0.walSyncMode = .everyCommit })
            try Self.ingest(db, hours: 4, model: &model)
            var app = try db.appender()
            #expect(throws: TSDBError.self) { try app.append(Labels(["__name__": "m", "i": "0"]), timestamp: 0, value: 1) }
            app.rollback()
            try db.compact()
            try db.close()
            #expect(metrics.counterTotal(label: "prometheus_tsdb_head_samples_appended_total") == 2_400)
            #expect(metrics.counterTotal(label: "prometheus_tsdb_out_of_bound_samples_total") >= 1)
            #expect(metrics.counterTotal(label: "prometheus_tsdb_compactions_total") >= 1)
            #expect(try metrics.expectTimer("prometheus_tsdb_wal_fsync_duration_seconds").values.count >= 240)
            #expect(try metrics.expectGauge("prometheus_tsdb_blocks_loaded").lastValue == 1)
            #expect(try metrics.expectGauge("prometheus_tsdb_head_series").lastValue == 10)
            #expect(try metrics.expectGauge("prometheus_tsdb_storage_blocks_bytes").lastValue ?? 0 > 0)
        }
    }

    @Test func closeStopsTheBackgroundThreadQuickly() throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.compactionEnabled = true
            let db = try DB.open(directory: dir, options: options)
            usleep(50_000)
            let start = DispatchTime.now().uptimeNanoseconds
            try db.close()
            let ms = (DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
            #expect(ms < 2_000, "close took \(ms) ms")
        }
    }
}
