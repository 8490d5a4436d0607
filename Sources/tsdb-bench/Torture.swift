import ArgumentParser
import Foundation
import TortureWorkload
import TSDB

/// The child of the crash tests: runs ``TortureWorkload``'s operations from `--first-op` on,
/// reporting each as it is acknowledged, until killed.
struct Torture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a mixed workload (appends, deletes, compactions, snapshots, tombstone cleanups) until killed.",
        discussion: """
            Operation k of the workload is a function of the seed and k alone (see
            TortureWorkload): transactions of several series at synthetic time (k+1) s,
            deletes of older samples, db.compact(), db.snapshot(to:includeHead:) into
            SNAPSHOTS/snap-<k>-<pid>, and db.cleanTombstones(); background compaction runs too.
            Prints `opened` once the directory is open, then `ack <k>` as each operation
            returns, each line with one write(2), so a parent that kills the process with
            SIGKILL knows what was acknowledged. Restart it with --first-op set to the first
            operation not acknowledged. Example:
              tsdb-bench torture --dir /tmp/t --snapshots /tmp/t-snap --seed 7 --first-op 0 --ops 500
            """)

    @Option(help: "The data directory.")
    var dir: String

    @Option(help: "Where snapshots go (outside the data directory).")
    var snapshots: String

    @Option(help: "The workload's seed.")
    var seed: UInt64

    @Option(help: "The first operation to run.")
    var firstOp = 0

    @Option(help: "How many operations to run before closing and exiting (default: until killed).")
    var ops: Int?

    func run() throws {
        let workload = TortureWorkload(seed: seed)
        let db = try DB.open(directory: dir, options: workload.options())
        Self.report("opened")
        let pid = getpid()
        let end = ops.map { firstOp + $0 } ?? Int.max
        var k = firstOp
        while k < end {
            switch workload.operation(k) {
            case .append(let series):
                var app = try db.appender()
                for s in series {
                    let labels = TortureWorkload.labels(id: s.id)
                    for t in s.timestamps {
                        try app.append(labels, timestamp: t, value: TortureWorkload.value(id: s.id, timestamp: t))
                    }
                }
                try app.commit()
            case .delete(let target, let minTime, let maxTime):
                try db.delete(target.selector, minTime: minTime, maxTime: maxTime)
            case .compact:
                try db.compact()
            case .snapshot(let includeHead):
                try db.snapshot(to: TortureWorkload.snapshotPath(snapshots, operation: k, pid: pid), includeHead: includeHead)
            case .cleanTombstones:
                try db.cleanTombstones()
            }
            Self.report("ack \(k)")
            k += 1
        }
        try db.close()
        Self.report("closed")
    }

    /// One write(2) of the line to standard output: in the pipe when this returns.
    static func report(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
