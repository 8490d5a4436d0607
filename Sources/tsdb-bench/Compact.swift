import ArgumentParser
import Dispatch
import Foundation
import TSDB

/// Opens a data directory and runs one maintenance round, as the background thread would:
/// cuts its head into blocks, merges blocks, applies retention; reports the time it took
/// (the figure to compare with Prometheus's "write block" log lines on a copy of the same
/// directory). The crash tests kill it part-way.
struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a maintenance round (head cut, block merges, retention) and report the time taken.",
        discussion: """
            Example:
              tsdb-bench write --out /tmp/bench && tsdb-bench compact /tmp/bench/storage
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Option(help: "Time retention in milliseconds.")
    var retentionDuration: Int64?

    @Option(help: "Size retention in bytes.")
    var retentionSize: Int64?

    @Option(help: "Largest block compaction builds, in milliseconds.")
    var maxBlockDuration: Int64?

    func run() throws {
        var options = Options()
        options.compactionEnabled = false
        options.retentionDuration = retentionDuration
        options.retentionSize = retentionSize
        options.maxBlockDuration = maxBlockDuration
        let db = try DB.open(directory: directory, options: options)
        print(">> replayed \(db.replayStats.samples) samples in \(String(format: "%.3f", db.replayStats.seconds)) s")
        let start = DispatchTime.now()
        let metas = try db.compact()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        for m in metas {
            print("   block \(m.ulid) [\(m.minTime), \(m.maxTime)): \(m.stats.numSeries) series, \(m.stats.numSamples) samples, \(m.stats.numChunks) chunks")
        }
        print(" > blocks written: \(metas.count)")
        print(" > compaction seconds: \(String(format: "%.3f", seconds))")
        if !metas.isEmpty {
            print(" > seconds per block: \(String(format: "%.3f", seconds / Double(metas.count)))")
        }
        try db.close()
    }
}
