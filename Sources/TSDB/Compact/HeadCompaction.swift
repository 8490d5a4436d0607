import Dispatch
import Logging

/// Turns the head's oldest range into a block, as Prometheus's head compaction does: while
/// the head spans more than 1.5 block ranges, the data from its oldest sample `t` to the
/// range boundary after it is written as a block, the head is truncated below `t + range`, and the WAL is
/// checkpointed so the segments holding only that data can go.
enum HeadCompaction {
    /// Writes every block that is due. `publish` adds a new block to the database before the
    /// head lets go of its data, so a query always finds every sample in one or the other
    /// (or both, where it reads each timestamp once). Runs on one thread at a time.
    static func run(
        head: Head, wal: WAL, directory: String, settings: CompactionSettings,
        shouldStop: () -> Bool = { false }, corruptions: (() -> Void)? = nil, publish: (Block) -> Void
    ) throws(TSDBError) -> [BlockMeta] {
        let range = settings.blockRange
        var written: [BlockMeta] = []
        var truncatedBefore: Int64?
        /// Whether a range was dropped with no block to hold it (everything in it deleted).
        var droppedWithoutBlock = false
        var failure: TSDBError?
        var previousEnd = Int64.min
        while !shouldStop() {
            let lo = head.minTime
            let hi = head.maxTime
            guard lo <= hi, hi - lo > range / 2 * 3 else { break }
            // Each block must start where the previous one ended or later; anything else
            // would write the same range again and again.
            guard lo >= previousEnd else {
                settings.logger.error("head compaction made no progress", metadata: [
                    "head_min_time": "\(lo)", "previous_block_end": "\(previousEnd)"])
                break
            }
            // As Prometheus: the block starts at the head's oldest sample and ends at the
            // range boundary after it.
            let minTime = lo
            let maxTime = floorDivide(lo, range) * range + range
            // From here on no commit adds samples below `maxTime`: the block is complete.
            head.closeRange(before: maxTime)
            // Timed from here, as Prometheus's "write block" covers reading the head too.
            let writeStart = DispatchTime.now().uptimeNanoseconds
            let series = head.chunks(minTime: minTime, maxTime: maxTime - 1)
            do throws(TSDBError) {
                if !series.isEmpty {
                    let meta = try BlockWriter.write(directory: directory, series: series, minTime: minTime, maxTime: maxTime, sys: settings.syscalls)
                    // As Prometheus's "write block" line: the block is durable, not yet loaded.
                    settings.logger.info("write block", metadata: [
                        "mint": "\(minTime)", "maxt": "\(maxTime)", "ulid": "\(meta.ulid)",
                        "duration_seconds": "\(seconds(since: writeStart))"])
                    publish(try Block.open(directory: DataDirectory(directory).block(meta.ulid.description), sys: settings.syscalls))
                    written.append(meta)
                } else {
                    droppedWithoutBlock = true
                }
            } catch {
                failure = error
                break
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let removed = head.truncate(before: maxTime)
            settings.logger.info("head GC completed", metadata: [
                "series_removed": "\(removed)", "duration_seconds": "\(seconds(since: start))"])
            truncatedBefore = maxTime
            previousEnd = maxTime
        }
        // Once per round, as Prometheus does after its compaction loop: a checkpoint reads
        // every segment it replaces, so one per block would cost quadratic time.
        if let t = truncatedBefore {
            let start = DispatchTime.now().uptimeNanoseconds
            if droppedWithoutBlock {
                // No block covers that range, so the next open would replay its deleted
                // samples from the WAL and the head chunk files: forget them there too.
                try forgetBelowMinValidTime(head: head, wal: wal, settings: settings, corruptions: corruptions)
            } else {
                try truncateWAL(wal, head: head, minTime: t, settings: settings, corruptions: corruptions)
            }
            settings.logger.info("WAL checkpoint complete", metadata: ["duration_seconds": "\(seconds(since: start))"])
        }
        if let failure { throw failure }
        return written
    }

    /// Prometheus's `truncateWAL`: cut a new segment, then leave out the segment that was
    /// being written and checkpoint the first two thirds of the older ones, keeping series
    /// still in the head and samples from `minTime` on; then delete those segments and older
    /// checkpoints. Nothing is checkpointed until there are at least two segments before the
    /// one being written (so with 2 h blocks the WAL keeps about 3 h), as in Prometheus.
    ///
    /// With `all`, every segment before the new one is checkpointed: afterwards the WAL holds
    /// no sample below `minTime`, which deleting a block whose samples the WAL still held
    /// needs (``Maintenance``).
    ///
    /// Damage in a segment being checkpointed does not stop it (Prometheus issue 13152): the
    /// damaged records are left out, the head's series are written into the checkpoint
    /// instead, and the damage is logged and counted in `prometheus_tsdb_wal_corruptions_total`
    /// through `corruptions`.
    static func truncateWAL(
        _ wal: WAL, head: Head, minTime: Int64, settings: CompactionSettings, all: Bool = false,
        corruptions: (() -> Void)? = nil
    ) throws(TSDBError) {
        let keep: (UInt64) -> Bool = { head.series.lookup($0) != nil }
        try wal.cutSegment()
        let segments = try WALFormat.segments(in: wal.directory, sys: settings.syscalls)
        guard let first = segments.first, let current = segments.last else { return }
        let last: Int
        if all {
            last = current - 1
            guard last >= first else { return }
        } else {
            let older = current - 2
            var upTo = first + (older - first) * 2 / 3
            // Segments an outside reader (remote write) has not read yet stay.
            if let kept = settings.walRetention?.lowestRetained(current: current) { upTo = Swift.min(upTo, kept - 1) }
            last = upTo
            guard older >= first, last > first else { return }
        }
        let stats = try Checkpoint.create(walDirectory: wal.directory, from: first, to: last, keep: keep, minTime: minTime,
                                          compression: settings.walCompression, sys: settings.syscalls,
                                          liveSeries: { head.loggedSeries() })
        for damage in stats.damage {
            settings.logger.error("WAL corruption skipped by the checkpoint: the damaged records are lost", metadata: ["damage": "\(damage)"])
            corruptions?()
        }
        try Checkpoint.deleteSegments(walDirectory: wal.directory, before: last + 1, sys: settings.syscalls)
        try Checkpoint.deleteCheckpoints(walDirectory: wal.directory, before: last, sys: settings.syscalls)
    }

    /// Makes the WAL and the head chunk files forget every sample below the head's minimum
    /// valid time, for when samples leave the head or a block with no other block to hold
    /// them (all deleted, or retention): the next open replays whatever no block covers, so
    /// they would come back. The head chunk files (a cache of the WAL) are dropped first, then
    /// every WAL segment is checkpointed from the minimum valid time on; the tombstones that
    /// hid those samples go in the same checkpoint, never before the samples.
    static func forgetBelowMinValidTime(head: Head, wal: WAL, settings: CompactionSettings, corruptions: (() -> Void)? = nil) throws(TSDBError) {
        let minTime = head.minValidTime
        guard minTime > .min else { return }
        head.headChunks.discardAll()
        try truncateWAL(wal, head: head, minTime: minTime, settings: settings, all: true, corruptions: corruptions)
    }

    private static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Division rounding toward negative infinity, so ranges align below zero too.
    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
