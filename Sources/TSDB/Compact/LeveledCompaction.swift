import Dispatch

/// One step of Prometheus's block compaction loop (`DB.compactBlocks`): plan with
/// ``CompactionPlanner``, merge one group with ``BlockCompactor``, and report what was
/// written and which blocks it covers. It never changes the database's list of blocks and
/// never deletes anything: the caller does, in the order below (FORMAT.md §12.4).
///
/// ## How the DB layer calls it
///
/// ```swift
/// // Under the compaction lock (one compaction at a time), head compaction first:
/// while let step = try LeveledCompaction.runOnce(directory: dir, blocks: currentBlocks,
///                                               ranges: ranges, sys: options.syscalls) {
///     // 1. Publish the child before the parents go, so every query finds each sample in
///     //    one of them (queries dedupe identical timestamps when both are seen).
///     if let meta = step.written {
///         let child = try Block.open(directory: dir + "/" + meta.ulid.description, sys: sys)
///         // add `child`, remove the parents in `step.compacted`, under the blocks lock
///     } else {
///         // remove the parents in `step.compacted` (their samples were all deleted)
///     }
///     // 2. Then, for each parent: `block.close()` (waits for queriers' references) and
///     //    `try LeveledCompaction.deleteBlock(directory: dir, ulid: parent, sys: sys)`.
/// }
/// ```
///
/// - A kill at any point is safe: until the child's rename it does not exist; after it,
///   ``BlockLoader`` deletes on the next open every block the child lists among its
///   `parents` (and blocks marked `deletable`).
/// - If step 1 or 2 fails, do not call `runOnce` again with the same blocks: the parents
///   would be planned again. Reload from disk instead (``BlockLoader`` resolves it).
/// - `ranges` is ``CompactionPlanner/blockRanges(minBlockDuration:retention:)`` or a custom
///   list; with a single range nothing but overlapping and tombstoned blocks is compacted.
enum LeveledCompaction {
    /// What one step did.
    struct Step: Sendable {
        /// The new block's meta; nil when the group held no sample after deletions, in which
        /// case no block was written and the parents were marked `deletable`.
        var written: BlockMeta?
        /// The parents merged (in plan order). Their data is in `written` (or was deleted):
        /// the caller unloads and deletes them.
        var compacted: [ULID]
        /// Whether the group overlapped in time (a vertical compaction).
        var vertical: Bool
    }

    /// Plans over `blocks` and compacts the first group, if any. Returns nil when there is
    /// nothing to compact.
    ///
    /// Runs on the caller's thread for as long as the merge takes (about a second per few
    /// million samples); queries and appends on other threads go on meanwhile, since the
    /// parents are only read. Call it from one thread at a time per directory.
    /// - Throws: as ``BlockCompactor/compact(directory:blocks:sys:ulid:segmentSize:)``;
    ///   nothing is written then.
    static func runOnce(
        directory: String, blocks: [Block], ranges: [Int64], sys: Syscalls,
        segmentSize: Int = ChunkSegmentFormat.defaultSegmentSize
    ) throws(TSDBError) -> Step? {
        guard !ranges.isEmpty else { throw TSDBError(.invalidArgument, "compaction needs at least one block range") }
        // Directory order, as Prometheus reads them; the planner sorts by minTime stably.
        let byULID = blocks.sorted { $0.meta.ulid < $1.meta.ulid }
        let plan = CompactionPlanner(ranges: ranges).plan(byULID.map(\.meta))
        guard !plan.isEmpty else { return nil }
        var group: [Block] = []
        for meta in plan {
            guard let block = byULID.first(where: { $0.meta.ulid == meta.ulid }) else { continue }
            group.append(block)
        }
        let vertical = !CompactionPlanner.selectOverlapping(plan).isEmpty
        let written = try BlockCompactor.compact(directory: directory, blocks: group, sys: sys, segmentSize: segmentSize)
        if written == nil {
            // As Prometheus: mark the parents so that the next open deletes them even if the
            // caller crashes before it does. Best effort; the caller deletes them anyway.
            for block in group {
                var meta = block.meta
                meta.compaction.deletable = true
                _ = try? meta.write(blockDirectory: block.directory, sys: sys)
            }
        }
        return Step(written: written, compacted: plan.map(\.ulid), vertical: vertical)
    }

    /// Prometheus's `compactBlocks` loop, the one both the database's maintenance round and
    /// ``CompactionTool`` run: plan over `blocks`, let `makeRoom` see the planned group (it
    /// returns false to stop), merge it (``runOnce``), `publish` the new block, then `retire`
    /// the parents (`dataGoes` when no block holds their samples any more), until no plan is
    /// left, `maxSteps` steps were taken or `shouldStop` says so. `publish` must add the
    /// block to `blocks` and `retire` remove the parents, or the next plan repeats.
    ///
    /// Returns the blocks written. A failure stops the loop; what was finished stays.
    static func compactAll(
        directory: String, blocks: BlockSet, ranges: [Int64], sys: Syscalls, maxSteps: Int = .max,
        shouldStop: () -> Bool = { false },
        makeRoom: (_ planned: [Block]) throws(TSDBError) -> Bool = { _ in true },
        publish: (BlockMeta) throws(TSDBError) -> Void,
        retire: (_ parents: Set<ULID>, _ dataGoes: Bool) throws(TSDBError) -> Void,
        onStep: (_ step: Step, _ parents: [BlockMeta], _ seconds: Double) -> Void = { _, _, _ in }
    ) throws(TSDBError) -> [BlockMeta] {
        var written: [BlockMeta] = []
        var steps = 0
        // A plan never repeats once its parents are gone; the bound only guards bugs.
        while steps < min(maxSteps, 1_000), !shouldStop() {
            let current = blocks.all
            let plan = CompactionPlanner(ranges: ranges).plan(current.map(\.meta).sorted { $0.ulid < $1.ulid })
            guard !plan.isEmpty else { break }
            let planned = Set(plan.map(\.ulid))
            let group = current.filter { planned.contains($0.meta.ulid) }
            guard try makeRoom(group) else { break }
            let start = DispatchTime.now().uptimeNanoseconds
            guard let step = try runOnce(directory: directory, blocks: blocks.all, ranges: ranges, sys: sys) else { break }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let parents = blocks.all.filter { step.compacted.contains($0.meta.ulid) }.map(\.meta)
            if let meta = step.written {
                try publish(meta)
                written.append(meta)
            }
            try retire(Set(step.compacted), step.written == nil)
            steps += 1
            onStep(step, parents, seconds)
        }
        return written
    }

    /// Deletes block `ulid` of `directory` crash-safely: rename to `<ulid>.tmp-for-deletion`,
    /// fsync the directory, remove. Close the ``Block`` first. Returns false if it was gone.
    @discardableResult
    static func deleteBlock(directory: String, ulid: ULID, sys: Syscalls) throws(TSDBError) -> Bool {
        try BlockWriter.delete(directory: directory, ulid: ulid, sys: sys)
    }
}
