#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Block compaction of a data directory without a ``DB``: what `tsdb-bench compact-blocks`
/// runs, and the crash tests kill. Opens the blocks as ``DB/open(directory:options:)``
/// does (``BlockLoader``, so leftovers and covered blocks go first), then runs
/// ``LeveledCompaction`` until no plan is left. Leaves the head and WAL alone.
///
/// Not for use while a ``DB`` has the directory open.
package enum CompactionTool {
    /// One compaction step, as reported to the caller.
    public struct Step: Sendable, CustomStringConvertible {
        /// The blocks merged, with their `[minTime, maxTime)`.
        public var parents: [BlockMeta]
        /// The block written, or nil when nothing was left after deletions.
        public var written: BlockMeta?
        public var vertical: Bool
        /// Wall-clock seconds the merge took (planning and writing the block, not the
        /// parents' deletion).
        public var seconds: Double

        public var description: String {
            let what = written.map { "block \($0.ulid) [\($0.minTime), \($0.maxTime)) level \($0.compaction.level): \($0.stats.numSeries) series, \($0.stats.numSamples) samples, \($0.stats.numChunks) chunks" }
                ?? "no block (every sample deleted)"
            let from = parents.map { "\($0.ulid) [\($0.minTime), \($0.maxTime))" }.joined(separator: ", ")
            return "\(vertical ? "vertical " : "")compaction of \(parents.count) blocks (\(from)) -> \(what) in \(formatSeconds(seconds)) s"
        }
    }

    /// Compacts the blocks of `directory` until no plan is left. Reports what opening found,
    /// then for each step the new block once it is in place (before its parents are
    /// deleted) and the step once its parents are gone.
    ///
    /// - Parameters:
    ///   - retention: time retention in milliseconds for the block ranges, as Prometheus's
    ///     server chooses them (nil: none, so ranges up to 31 days).
    ///   - maxSteps: stop after this many steps.
    ///   - onOpen: the notes of the open (blocks deleted as covered, overlaps).
    public static func compactDirectory(
        _ directory: String, retention: Int64? = nil, maxSteps: Int = .max,
        onOpen: (_ blocks: [BlockMeta], _ notes: [String]) -> Void = { _, _ in },
        onPublished: (_ written: BlockMeta?) -> Void = { _ in },
        onStep: (Step) -> Void = { _ in }
    ) throws(TSDBError) {
        let loaded = try BlockLoader.loadRemovingCovered(directory: directory, sys: .system)
        onOpen(loaded.blocks.map(\.meta), loaded.notes)
        var blocks = loaded.blocks
        defer { for b in blocks { b.close() } }
        try run(directory: directory, blocks: &blocks, ranges: CompactionPlanner.blockRanges(retention: retention),
                sys: .system, maxSteps: maxSteps, onPublished: onPublished, onStep: onStep)
    }

    /// Runs ``LeveledCompaction/compactAll`` (or `maxSteps` steps), publishing each child in
    /// `blocks` before closing and deleting its parents, the order ``LeveledCompaction``
    /// prescribes. Blocks removed from `blocks` are closed. `onPublished` is called between
    /// the two, `onStep` after.
    static func run(
        directory: String, blocks: inout [Block], ranges: [Int64], sys: Syscalls, maxSteps: Int = .max,
        onPublished: (_ written: BlockMeta?) -> Void = { _ in },
        onStep: (Step) -> Void = { _ in }
    ) throws(TSDBError) {
        let set = BlockSet(blocks)
        defer { blocks = set.all }
        _ = try LeveledCompaction.compactAll(
            directory: directory, blocks: set, ranges: ranges, sys: sys, maxSteps: maxSteps,
            publish: { (meta: BlockMeta) throws(TSDBError) in
                set.add(try Block.open(directory: DataDirectory(directory).block(meta.ulid.description), sys: sys))
                onPublished(meta)
            },
            retire: { (parents: Set<ULID>, dataGoes: Bool) throws(TSDBError) in
                // A step that wrote nothing has not published: report it before the parents go.
                if dataGoes { onPublished(nil) }
                for p in set.remove(parents) {
                    p.close()
                    try LeveledCompaction.deleteBlock(directory: directory, ulid: p.meta.ulid, sys: sys)
                }
            },
            onStep: { step, parents, seconds in
                onStep(Step(parents: parents, written: step.written, vertical: step.vertical, seconds: seconds))
            })
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func formatSeconds(_ s: Double) -> String {
        let ms = Int((s * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
