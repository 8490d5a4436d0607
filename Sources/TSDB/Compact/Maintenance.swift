import Dispatch
import Logging

/// The database's housekeeping, one round at a time, as Prometheus's `DB.Compact` and
/// `reloadBlocks`: cut the head into blocks, merge blocks (leveled and vertical
/// compaction), apply time and size retention, and rewrite blocks without their deleted
/// data on request.
///
/// The caller serialises rounds (the database's compaction lock). Appends and queries run
/// meanwhile: blocks are published to the ``BlockSet`` before their parents leave it, and
/// a parent is closed (which waits for the queries reading it) and deleted only after.
struct Maintenance {
    let head: Head
    let wal: WAL
    let blocks: BlockSet
    let directory: String
    let settings: CompactionSettings
    let metrics: CompactionMetrics
    /// Asked between steps; a round stops early once it says true (the database closing).
    var shouldStop: @Sendable () -> Bool = { false }
    var logger: Logger { settings.logger }
    var sys: Syscalls { settings.syscalls }

    /// One round. Returns the blocks written (from the head, then by merging).
    /// - Throws: the first failure; what was finished before it stays (a failed step leaves
    ///   its inputs as they were).
    func run() throws(TSDBError) -> [BlockMeta] {
        try deleteUndeleted()
        var written: [BlockMeta] = []
        try applyRetention(reserve: headBlockEstimate())
        written += try timed("head compaction", didWork: { !$0.isEmpty }) { () throws(TSDBError) -> [BlockMeta] in
            try HeadCompaction.run(head: head, wal: wal, directory: directory, settings: settings, shouldStop: shouldStop,
                                   corruptions: { metrics.walCorruptions.increment() }) { blocks.add($0) }
        }
        try applyRetention(reserve: 0)
        guard !shouldStop() else { return written }
        written += try compactBlocks()
        try applyRetention(reserve: 0)
        return written
    }

    /// Prometheus's `compactBlocks`, through ``LeveledCompaction/compactAll``: before each
    /// merge, room for the new block (about its parents' size) is made under size retention,
    /// and a merge that cannot fit stops the loop.
    private func compactBlocks() throws(TSDBError) -> [BlockMeta] {
        do throws(TSDBError) {
            return try LeveledCompaction.compactAll(
                directory: directory, blocks: blocks, ranges: settings.ranges, sys: sys, shouldStop: shouldStop,
                makeRoom: { (planned: [Block]) throws(TSDBError) -> Bool in
                    let reserve = planned.reduce(Int64(0)) { $0 + DiskUsage.bytes(under: $1.directory, sys: sys) }
                    try applyRetention(reserve: reserve)
                    if let limit = settings.retentionSize, otherBytes() + reserve > limit {
                        logger.warning("skipping compaction: the merged block would take the data directory over its size limit", metadata: [
                            "blocks": "\(planned.map(\.meta.ulid))", "reserve": "\(reserve)", "limit": "\(limit)"])
                        return false
                    }
                    return true
                },
                publish: publish,
                retire: { (parents: Set<ULID>, dataGoes: Bool) throws(TSDBError) in try retire(parents, dataGoes: dataGoes) },
                onStep: { step, _, seconds in
                    metrics.compactionDuration.recordNanoseconds(Int64(seconds * 1e9))
                    metrics.compactionsTotal.increment()
                    logger.info("compacted blocks", metadata: [
                        "parents": "\(step.compacted)", "block": "\(step.written?.ulid.description ?? "none (all deleted)")",
                        "vertical": "\(step.vertical)"])
                })
        } catch {
            metrics.compactionsFailed.increment()
            logger.error("compaction failed", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// Prometheus's `CleanTombstones`: every block with tombstones is rewritten without the
    /// deleted data, then replaced. A failure (a full disk, say) leaves that block and every
    /// later one as they were: the new block is removed before it is published, so no two
    /// blocks overlap (Prometheus issues 4200 and 3782).
    ///
    /// As before a merge, room for the new block (at most the old one's size, and both exist
    /// until the old goes) is made first under size retention, and a rewrite that cannot fit
    /// even with every older block gone is skipped and logged.
    func cleanTombstones() throws(TSDBError) -> [BlockMeta] {
        try deleteUndeleted()
        var written: [BlockMeta] = []
        for block in blocks.all where block.hasTombstones {
            if settings.retentionSize != nil {
                let reserve = DiskUsage.bytes(under: block.directory, sys: sys)
                try applyRetention(reserve: reserve)
                // Retention may have taken this very block (the oldest): nothing to rewrite.
                guard blocks.all.contains(where: { $0 === block }) else { continue }
                if let limit = settings.retentionSize, otherBytes() + reserve > limit {
                    logger.warning("skipping tombstone cleanup: the rewritten block would take the data directory over its size limit", metadata: [
                        "block": "\(block.meta.ulid)", "reserve": "\(reserve)", "limit": "\(limit)"])
                    continue
                }
            }
            let meta = try timed("tombstone cleanup") { () throws(TSDBError) -> BlockMeta? in
                try BlockCompactor.compact(directory: directory, blocks: [block], sys: sys)
            }
            if let meta {
                try publish(meta)
                written.append(meta)
            }
            logger.info("rewrote block without its deleted data", metadata: [
                "parent": "\(block.meta.ulid)", "block": "\(meta?.ulid.description ?? "none (all deleted)")"])
            try retire([block.meta.ulid], dataGoes: meta == nil)
        }
        return written
    }

    /// Deletes the blocks beyond time retention, then the oldest blocks while blocks, WAL
    /// and head chunks with `reserve` more bytes would exceed the size limit.
    func applyRetention(reserve: Int64) throws(TSDBError) {
        let current = blocks.all
        var doomed = Set<ULID>()
        if let retention = settings.retentionDuration, !current.isEmpty {
            let newestBlock = current.map(\.meta.maxTime).max().map { $0 - 1 } ?? .min
            let newest = Swift.max(head.maxTime, newestBlock)
            let old = Retention.beyondTime(current.map(\.meta), newest: newest, retention: retention)
            if !old.isEmpty {
                metrics.timeRetentions.increment()
                logger.info("deleting blocks beyond time retention", metadata: ["blocks": "\(old.sorted())", "retention_ms": "\(retention)"])
            }
            doomed.formUnion(old)
        }
        if let limit = settings.retentionSize {
            let sized = current.filter { !doomed.contains($0.meta.ulid) }.map { ($0.meta, DiskUsage.bytes(under: $0.directory, sys: sys)) }
            let big = Retention.beyondSize(sized, otherBytes: otherBytes(), reserve: reserve, limit: limit)
            if !big.isEmpty {
                metrics.sizeRetentions.increment()
                logger.info("deleting blocks beyond size retention", metadata: ["blocks": "\(big.sorted())", "limit": "\(limit)", "reserve": "\(reserve)"])
            }
            doomed.formUnion(big)
        }
        try retire(doomed, dataGoes: true)
    }

    /// Bytes counted against the size limit besides blocks: the WAL (with checkpoints) and
    /// the head chunk files.
    func otherBytes() -> Int64 {
        DiskUsage.bytes(under: DataDirectory(directory).wal, sys: sys) + DiskUsage.bytes(under: DataDirectory(directory).headChunks, sys: sys)
    }

    /// Room the next head compaction's block needs: the largest level-1 block so far, or
    /// half the WAL when none exists yet (blocks take about a third of the WAL's bytes for
    /// the same samples).
    private func headBlockEstimate() -> Int64 {
        guard settings.retentionSize != nil else { return 0 }
        let firsts = blocks.all.filter { $0.meta.compaction.level == 1 }.map { DiskUsage.bytes(under: $0.directory, sys: sys) }
        return firsts.max() ?? DiskUsage.bytes(under: DataDirectory(directory).wal, sys: sys) / 2
    }

    /// Opens the block `meta` wrote and adds it to the set. If it cannot be opened, it is
    /// deleted again, so the directory holds nothing the set does not.
    private func publish(_ meta: BlockMeta) throws(TSDBError) {
        do throws(TSDBError) {
            blocks.add(try Block.open(directory: DataDirectory(directory).block(meta.ulid.description), sys: sys))
        } catch {
            _ = try? BlockWriter.delete(directory: directory, ulid: meta.ulid, sys: sys)
            throw error
        }
    }

    /// Takes blocks out of the set, waits for their queries, and deletes them crash-safely.
    ///
    /// `dataGoes` says their samples are in no other block (retention, or a rewrite that
    /// left nothing). Then the WAL and head chunk files first forget everything below the
    /// head's minimum valid time: they can still hold samples of those blocks, and the next
    /// open, which replays whatever no block covers, would bring them back.
    private func retire(_ ulids: Set<ULID>, dataGoes: Bool = false) throws(TSDBError) {
        guard !ulids.isEmpty else { return }
        if dataGoes {
            try HeadCompaction.forgetBelowMinValidTime(head: head, wal: wal, settings: settings,
                                                       corruptions: { metrics.walCorruptions.increment() })
        }
        // Every block is tried; one that fails stays listed for the next round, which
        // deletes it first (it is out of the set already, so nothing else would).
        var failure: TSDBError?
        for block in blocks.remove(ulids) {
            block.close()
            do throws(TSDBError) {
                try BlockWriter.delete(directory: directory, ulid: block.meta.ulid, sys: sys)
                metrics.deletedBlocks.increment()
            } catch {
                blocks.deletionFailed(block.meta.ulid)
                logger.error("block deletion failed; retried next round", metadata: ["block": "\(block.meta.ulid)", "error": "\(error)"])
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// Deletes what earlier failed deletions left on disk.
    private func deleteUndeleted() throws(TSDBError) {
        for ulid in blocks.pendingDeletions.sorted() {
            try BlockWriter.finishDeletion(directory: directory, ulid: ulid, sys: sys)
            blocks.deletionDone(ulid)
            metrics.deletedBlocks.increment()
        }
    }

    /// Runs one compaction step, counting it and its duration when it did something
    /// (`didWork`), and logging a failure.
    private func timed<T>(_ what: String, didWork: (T) -> Bool = { _ in true }, _ body: () throws(TSDBError) -> T) throws(TSDBError) -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        do throws(TSDBError) {
            let result = try body()
            if didWork(result) {
                metrics.compactionDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
                metrics.compactionsTotal.increment()
            }
            return result
        } catch {
            metrics.compactionsFailed.increment()
            logger.error("\(what) failed", metadata: ["error": "\(error)"])
            throw error
        }
    }
}

extension Block {
    /// Whether the block has tombstones (in memory, as its file says).
    var hasTombstones: Bool { (try? withReaders { !$0.tombstones.isEmpty }) ?? false }
}
