import ArgumentParser
import Dispatch
import Foundation
import TSDB

/// Opens a data directory's blocks and runs the leveled block compaction to the end, as the
/// database's background compaction would, printing each step with its time: the figure
/// for "three 2 h blocks into one 6 h block". The crash tests kill it part-way.
struct CompactBlocks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact-blocks",
        abstract: "Compact a data directory's blocks (leveled and vertical) and report the time of each step.",
        discussion: """
            Opens the blocks as the database does (deleting leftovers and blocks a compacted
            block already covers), then plans and merges until no plan is left, deleting
            each step's parents once its block is in place. The head and WAL are untouched.
            Block ranges are Prometheus's: 2 h × 3^k up to a tenth of --retention-days
            (31 days at most).
            Example:
              tsdb-bench write --out /tmp/bench --scrapes 720 && tsdb-bench compact /tmp/bench/storage \\
                && tsdb-bench compact-blocks /tmp/bench/storage
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Option(help: "Time retention in days, which caps the block ranges (0: none, ranges up to 31 days).")
    var retentionDays: Double = 15

    @Option(help: "Stop after this many compactions.")
    var maxSteps: Int = .max

    func run() throws {
        let retention: Int64? = retentionDays > 0 ? Int64(retentionDays * 86_400_000) : nil
        let start = DispatchTime.now()
        var steps = 0
        var mergeSeconds = 0.0
        try CompactionTool.compactDirectory(directory, retention: retention, maxSteps: maxSteps, onOpen: { blocks, notes in
            for note in notes { Self.emit(">> \(note)") }
            Self.emit(">> opened \(blocks.count) blocks in \(directory)")
        }, onPublished: { written in
            Self.emit("   published \(written.map { "block \($0.ulid)" } ?? "no block"); deleting its parents")
        }, onStep: { step in
            steps += 1
            mergeSeconds += step.seconds
            Self.emit("   step \(steps): \(step)")
        })
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        Self.emit(" > compactions: \(steps)")
        Self.emit(" > merge seconds: \(String(format: "%.3f", mergeSeconds))")
        Self.emit(" > total seconds: \(String(format: "%.3f", seconds))")
    }

    /// One line to standard output, flushed at once so a parent reading the pipe sees it
    /// before a kill.
    static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
