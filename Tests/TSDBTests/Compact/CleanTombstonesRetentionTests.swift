import Foundation
import Synchronization
import Testing
import TSDBTestSupport

@testable import TSDB

/// `cleanTombstones()` under size retention makes room for each rewritten block before
/// writing it, as merges do: the soak saw the directory 1.7 MB over its limit while blocks
/// were rewritten next to their originals.
@Suite(.heavy) struct CleanTombstonesRetentionTests {
    @Test func cleaningTombstonesStaysWithinTheSizeLimit() throws {
        try TemporaryDirectory.with { dir in
            var model: [Labels: [Sample]] = [:]
            try MaintenanceTests.writeBlocks(dir, count: 12, model: &model)
            let full = DiskUsage.bytes(under: dir, sys: .system)
            // Everything fits, but not a second copy of a block next to it.
            let limit = full + full / 24
            let peak = Mutex<Int64>(0)
            var options = Options.manualCompaction { $0.retentionSize = limit; $0.maxBlockDuration = 2 * MaintenanceTests.hour }
            let real = options.syscalls
            // The moment of most bytes: the rewritten block complete, the old one not yet gone.
            options.syscalls.rename = { from, to in
                if from.hasSuffix(".tmp-for-creation") {
                    let used = DiskUsage.bytes(under: dir, sys: .system)
                    peak.withLock { $0 = max($0, used) }
                }
                return real.rename(from, to)
            }
            let db = try DB.open(directory: dir, options: options)
            #expect(db.blocks.count == 12)
            // Delete from the newest block, which retention keeps.
            try db.delete(#"m{i="0"}"#, minTime: 22 * MaintenanceTests.hour, maxTime: 23 * MaintenanceTests.hour)
            let rewritten = try db.cleanTombstones()
            #expect(rewritten.count == 1)
            #expect(peak.withLock { $0 } <= limit, "at the rename the directory held \(peak.withLock { $0 }) bytes, over the limit \(limit)")
            #expect(DiskUsage.bytes(under: dir, sys: .system) <= limit)
            // What is left: every sample from the oldest block kept on, less the deleted ones.
            let oldest = db.blocks.map(\.minTime).min()!
            #expect(oldest > 0, "the oldest block made room")
            for (l, s) in model {
                model[l] = s.filter { $0.timestamp >= oldest && !(l["i"] == "0" && $0.timestamp >= 22 * MaintenanceTests.hour && $0.timestamp <= 23 * MaintenanceTests.hour) }
            }
            try ModelQuery.expect(db, model, "after cleaning tombstones")
            try db.close()
        }
    }
}
