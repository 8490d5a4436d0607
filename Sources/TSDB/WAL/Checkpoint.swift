#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one checkpoint read and kept: Prometheus's `wlog.CheckpointStats` for the record
/// types this engine writes. Totals count every entry read, dropped ones included.
package struct CheckpointStats: Sendable, Equatable {
    var droppedSeries = 0
    var droppedSamples = 0
    var droppedTombstones = 0
    var totalSeries = 0
    var totalSamples = 0
    var totalTombstones = 0
    /// Whole records of types this engine does not read (exemplars, metadata, histograms,
    /// m-map markers); a checkpoint drops them, as Prometheus drops types it does not know.
    var droppedRecords = 0
    /// Damage skipped in the segments read (with `liveSeries` given): where, and why. Each
    /// damaged segment was read up to its damage only.
    var damage: [String] = []
}

/// WAL checkpoints: `checkpoint.NNNNNNNN` is a directory of WAL segments that
/// holds, compacted, everything of segments up to NNNNNNNN the head still needs. It is
/// Prometheus's `tsdb/wlog/checkpoint.go`, and a Prometheus WAL directory with checkpoints
/// reads the same here and there.
///
/// A truncation of the WAL is three calls, in this order, as Prometheus's
/// `Head.truncateWAL` makes them:
///
/// ```swift
/// let stats = try Checkpoint.create(walDirectory: dir, from: first, to: last, keep: …, minTime: t, compression: c, sys: sys)
/// try Checkpoint.deleteSegments(walDirectory: dir, before: last + 1, sys: sys)     // may fail: retried next time
/// try Checkpoint.deleteCheckpoints(walDirectory: dir, before: last, sys: sys)      // may fail: harmless
/// ```
///
/// Not safe to run two of these on one WAL directory at once. The WAL writer may keep
/// writing to segments after `to` meanwhile.
package enum Checkpoint {
    /// Suffix of a checkpoint being written; readers ignore such directories.
    static let temporarySuffix = ".tmp"
    /// Filtered records are written in batches of about this many bytes (Prometheus: 1 MB).
    static let flushBytes = 1024 * 1024

    /// Prometheus's `wlog.Checkpoint`: compacts segments `from...to` of the WAL in
    /// `walDirectory`, after the latest existing checkpoint, into `checkpoint.<to>`.
    ///
    /// - If a checkpoint `checkpoint.N` exists, it is read first and segments start at
    ///   `N + 1` whatever `from` says; `from > N + 1` is an error (a gap).
    /// - Series records keep the series for which `keep(ref)` is true; samples keep
    ///   timestamps `≥ minTime`; tombstones keep intervals ending `≥ minTime`. Neither
    ///   samples nor tombstones are filtered by `keep`, as in Prometheus. Records of other
    ///   types are dropped. Each surviving record is re-encoded alone, in the order read.
    /// - The checkpoint is written with `compression` into `checkpoint.<to>.tmp` (every
    ///   stale `checkpoint.*.tmp` is removed first), fsynced, renamed into place through
    ///   `sys.rename`, and the WAL directory is fsynced.
    ///
    /// Segments `from...to` must be finished: the writer has moved past `to`. Nothing is
    /// deleted here. On failure no `checkpoint.<to>` appears and the temporary directory is
    /// removed; the WAL is as it was.
    ///
    /// Damage in the middle of a segment or of the previous checkpoint (bit rot, a bad
    /// sector) throws, unless `liveSeries` is given: then the checkpoint is made again with
    /// a series record for every series `liveSeries` returns (the head's, so none of them
    /// loses the record that named it) ahead of what is read, every damaged file is read up
    /// to its damage only, and the damage is reported in ``CheckpointStats/damage``. Only
    /// the damaged records are lost, as a restart would lose them, and the segments can be
    /// deleted, so the WAL does not grow until the disk is full (Prometheus issue 13152).
    ///
    /// Cost: reads the checkpoint and the segments one at a time (one segment in memory);
    /// twice when damage is skipped.
    /// - Throws: ``TSDBError/Code/corruption`` for damage inside a segment or the previous
    ///   checkpoint without `liveSeries` (a record cut off by the end of a segment, which
    ///   replay also skips, is skipped); ``TSDBError/Code/io`` when a file operation fails.
    package static func create(
        walDirectory: String, from: Int, to: Int, keep: (UInt64) -> Bool, minTime: Int64,
        compression: WALCompression, sys: Syscalls, liveSeries: (() -> [RefSeries])? = nil
    ) throws(TSDBError) -> CheckpointStats {
        do throws(TSDBError) {
            return try create(walDirectory: walDirectory, from: from, to: to, keep: keep, minTime: minTime,
                              compression: compression, sys: sys, preamble: nil)
        } catch where error.code == .corruption && liveSeries != nil {
            return try create(walDirectory: walDirectory, from: from, to: to, keep: keep, minTime: minTime,
                              compression: compression, sys: sys, preamble: liveSeries!())
        }
    }

    /// One attempt; with a `preamble` (the live series) damage is skipped.
    private static func create(
        walDirectory: String, from: Int, to: Int, keep: (UInt64) -> Bool, minTime: Int64,
        compression: WALCompression, sys: Syscalls, preamble: [RefSeries]?
    ) throws(TSDBError) -> CheckpointStats {
        var stats = CheckpointStats()

        // The sources: the latest checkpoint, whole, then segments from...to.
        var sources: [(path: String, inCheckpoint: Bool)] = []
        var first = from
        if let last = try WALFormat.latestCheckpoint(in: walDirectory, sys: sys) {
            guard from <= last.index + 1 else {
                throw TSDBError(.invalidArgument, "cannot checkpoint WAL segments \(from)...\(to) of \(walDirectory): unexpected gap to the last checkpoint \(last.name), which ends at segment \(last.index)")
            }
            // Segments below the checkpoint should not exist; they are ignored.
            first = last.index + 1
            let dir = walDirectory + "/" + last.name
            for index in try WALFormat.segments(in: dir, sys: sys) {
                sources.append((dir + "/" + WALFormat.segmentName(index), true))
            }
        }
        for index in try WALFormat.segments(in: walDirectory, sys: sys) where index >= first && index <= to {
            sources.append((walDirectory + "/" + WALFormat.segmentName(index), false))
        }

        try deleteTemporaryCheckpoints(walDirectory: walDirectory, sys: sys)
        let final = walDirectory + "/" + WALFormat.checkpointName(to)
        let temporary = final + temporarySuffix
        let made = sys.mkdir(temporary, 0o777)
        guard made == 0 || made == -EEXIST else { throw .io("create checkpoint directory", path: temporary, errno: -made) }

        var writer: WAL?
        do throws(TSDBError) {
            let out = try WAL(directory: temporary, options: WALOptions(segmentSize: WALFormat.defaultSegmentSize, compression: compression, syncMode: .onSegmentCut), sys: sys)
            writer = out
            var batch: [[UInt8]] = []
            var batchBytes = 0
            var samples: [RefSample] = []
            var damage: [String] = []
            defer { stats.damage = damage }
            if let preamble, !preamble.isEmpty {
                var w = ByteWriter()
                RecordEncoder.series(preamble, into: &w)
                try out.log([w.bytes])
            }
            for source in sources {
                try forEachRecord(in: source.path, skipTornTail: !source.inCheckpoint, skipDamage: preamble != nil,
                                  damage: &damage, sys: sys) { record, path, offset throws(TSDBError) in
                    guard let kept = try filter(record, file: path, offset: offset, keep: keep, minTime: minTime, samples: &samples, stats: &stats) else { return }
                    batch.append(kept)
                    batchBytes += kept.count
                    if batchBytes > flushBytes {
                        try out.log(batch)
                        batch.removeAll(keepingCapacity: true)
                        batchBytes = 0
                    }
                }
            }
            try out.log(batch)
            try out.close()
            // The segment files' entries must be durable before the directory is renamed.
            try FileSystem.syncDirectory(temporary, sys: sys)
            try replace(temporary, with: final, sys: sys)
            try FileSystem.syncDirectory(walDirectory, sys: sys)
        } catch {
            try? writer?.close()
            try? FileSystem.removeAll(temporary, sys: sys)
            throw error
        }
        return stats
    }

    /// The record as it goes into the checkpoint, or nil when nothing of it is kept.
    private static func filter(
        _ record: [UInt8], file: String, offset: Int, keep: (UInt64) -> Bool, minTime: Int64,
        samples: inout [RefSample], stats: inout CheckpointStats
    ) throws(TSDBError) -> [UInt8]? {
        var out = ByteWriter()
        switch record.first {
        case RecordType.series.rawValue:
            let series = try RecordDecoder.series(record, file: file, offset: offset)
            let kept = series.filter { keep($0.ref) }
            stats.totalSeries += series.count
            stats.droppedSeries += series.count - kept.count
            guard !kept.isEmpty else { return nil }
            RecordEncoder.series(kept, into: &out)
        case RecordType.samples.rawValue:
            // Most records are all old or all new (one scrape's samples share a timestamp):
            // count first, without allocating; such a record is dropped, or kept as it is,
            // which is the re-encoding of all its samples byte for byte.
            let (total, newer) = try countSamples(record, from: minTime, file: file, offset: offset)
            if newer == 0 || newer == total {
                stats.totalSamples += total
                stats.droppedSamples += total - newer
                return newer == 0 ? nil : record
            }
            samples.removeAll(keepingCapacity: true)
            try RecordDecoder.samples(record, into: &samples, file: file, offset: offset)
            let kept = samples.filter { $0.timestamp >= minTime }
            stats.totalSamples += samples.count
            stats.droppedSamples += samples.count - kept.count
            guard !kept.isEmpty else { return nil }
            RecordEncoder.samples(kept, into: &out)
        case RecordType.tombstones.rawValue:
            let stones = try RecordDecoder.tombstones(record, file: file, offset: offset)
            // One entry per interval on disk; an interval is kept whole if it ends ≥ minTime.
            let kept = stones.filter { $0.maxTime >= minTime }
            stats.totalTombstones += stones.count
            stats.droppedTombstones += stones.count - kept.count
            guard !kept.isEmpty else { return nil }
            RecordEncoder.tombstones(kept, into: &out)
        default:
            stats.droppedRecords += 1
            return nil
        }
        return out.bytes
    }

    /// How many samples the samples record holds, and how many of them are at or after
    /// `minTime`. Checks the whole record as the decoder does.
    private static func countSamples(_ record: [UInt8], from minTime: Int64, file: String, offset: Int) throws(TSDBError) -> (total: Int, kept: Int) {
        var failure: TSDBError?
        let counts = record.withUnsafeBytes { raw -> (Int, Int) in
            var total = 0
            var kept = 0
            do throws(TSDBError) {
                var cursor = try SampleCursor(raw, file: file, offset: offset)
                while let s = try cursor.next() {
                    total += 1
                    if s.timestamp >= minTime { kept += 1 }
                }
            } catch { failure = error }
            return (total, kept)
        }
        if let failure { throw failure }
        return counts
    }

    /// Feeds `body` every record of the segment at `path`. Damage is corruption, except,
    /// with `skipTornTail`, a record cut off by the end of the segment: a write that failed
    /// and could not be undone, which replay skips too.
    private static func forEachRecord(
        in path: String, skipTornTail: Bool, skipDamage: Bool, damage: inout [String], sys: Syscalls,
        _ body: (_ record: [UInt8], _ path: String, _ offset: Int) throws(TSDBError) -> Void
    ) throws(TSDBError) {
        var reader = SegmentReader(bytes: try WALRecovery.readFile(path, sys: sys), path: path)
        while true {
            let next: (record: [UInt8], offset: Int)?
            do throws(SegmentDamage) {
                next = try reader.next()
            } catch {
                if skipTornTail && error.kind == .torn { return }
                if skipDamage {
                    damage.append("\(path): damaged at offset \(error.offset) (\(error.reason)); the rest of the file was skipped")
                    return
                }
                throw TSDBError(.corruption, "cannot checkpoint \(path): damaged at offset \(error.offset): \(error.reason)",
                                location: .init(file: path, offset: error.offset))
            }
            guard let (record, offset) = next else { return }
            try body(record, path, offset)
        }
    }

    /// Prometheus's `fileutil.Replace`: removes a directory already at `target`, renames
    /// `source` to it and fsyncs the parent.
    private static func replace(_ source: String, with target: String, sys: Syscalls) throws(TSDBError) {
        if FileSystem.isDirectory(target, sys: sys) {
            try FileSystem.removeAll(target, sys: sys)
        }
        let r = sys.rename(source, target)
        guard r == 0 else { throw .io("rename \(source) to", path: target, errno: -r) }
    }

    /// Prometheus's `WL.Truncate(i)`: deletes the WAL segments numbered below `index`,
    /// lowest first, stopping at the first failure. Call it after ``create(walDirectory:from:to:keep:minTime:compression:sys:)``
    /// with `to + 1`; a failure leaves segments that the checkpoint supersedes, and replay
    /// skips them.
    static func deleteSegments(walDirectory: String, before index: Int, sys: Syscalls) throws(TSDBError) {
        for segment in try WALFormat.segments(in: walDirectory, sys: sys) {
            guard segment < index else { break }
            let path = walDirectory + "/" + WALFormat.segmentName(segment)
            let r = sys.unlink(path)
            guard r == 0 || r == -ENOENT else { throw .io("remove WAL segment", path: path, errno: -r) }
        }
    }

    /// Prometheus's `wlog.DeleteCheckpoints`: removes every checkpoint numbered below
    /// `index`; call it with the `to` of the checkpoint just made. Tries them all and throws
    /// the first failure. A leftover old checkpoint only takes space: readers use the latest.
    static func deleteCheckpoints(walDirectory: String, before index: Int, sys: Syscalls) throws(TSDBError) {
        var failure: TSDBError?
        for checkpoint in try list(in: walDirectory, sys: sys) {
            guard checkpoint.index < index else { break }
            do throws(TSDBError) {
                try FileSystem.removeAll(walDirectory + "/" + checkpoint.name, sys: sys)
            } catch {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// Prometheus's `wlog.DeleteTempCheckpoints`: removes every `checkpoint.*.tmp` left by a
    /// checkpoint that crashed or failed. ``create(walDirectory:from:to:keep:minTime:compression:sys:)`` calls it.
    static func deleteTemporaryCheckpoints(walDirectory: String, sys: Syscalls) throws(TSDBError) {
        for name in try FileSystem.list(walDirectory, sys: sys) ?? []
        where name.hasPrefix("checkpoint.") && name.hasSuffix(temporarySuffix) {
            try FileSystem.removeAll(walDirectory + "/" + name, sys: sys)
        }
    }

    /// The checkpoints in `walDirectory`, lowest index first (Prometheus's
    /// `listCheckpoints`); `.tmp` and other non-numeric names are ignored.
    static func list(in walDirectory: String, sys: Syscalls) throws(TSDBError) -> [(name: String, index: Int)] {
        var found: [(name: String, index: Int)] = []
        for name in try FileSystem.list(walDirectory, sys: sys) ?? [] where name.hasPrefix("checkpoint.") {
            let digits = name.dropFirst("checkpoint.".count)
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let index = Int(digits) else { continue }
            found.append((name, index))
        }
        return found.sorted { $0.index < $1.index }
    }
}
