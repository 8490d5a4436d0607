import ArgumentParser
import Dispatch
import Foundation
import TSDB

/// Opens a data directory read-write and reports how long rebuilding the head from its WAL
/// took. Works on directories Prometheus wrote: `promtool tsdb bench write --out D` leaves
/// one in `D/storage`.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a data directory's WAL and report samples and seconds.",
        discussion: """
            Opening read-write is what a restart does: the head chunks in chunks_head/ are
            loaded, the WAL is replayed (skipping the samples those chunks hold; a torn tail
            is cut away) and a new WAL segment is started, as Prometheus does.
            Example:
              tsdb-bench write --out /tmp/bench && tsdb-bench replay /tmp/bench/storage
            """)

    @Argument(help: "The data directory (the one holding wal/).")
    var directory: String

    @Flag(help: "Drop the WAL from a corrupt record in the middle on, instead of failing.")
    var repair = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: directory + "/wal") else {
            throw ValidationError("\(directory) has no wal/ directory")
        }
        var options = Options()
        options.compactionEnabled = false
        options.repairWAL = repair
        let start = DispatchTime.now()
        let db = try DB.open(directory: directory, options: options)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let stats = db.replayStats
        for note in stats.notes { print(">> \(note)") }
        print(">> replayed \(stats.series) series from \(directory)/wal")
        if stats.headChunks > 0 {
            print(">> loaded \(stats.headChunks) head chunks (\(stats.headChunkSamples) samples) from \(directory)/chunks_head in \(String(format: "%.3f", stats.headChunkSeconds)) s")
        }
        print(" > replayed samples: \(stats.samples)")
        print(" > replay seconds: \(String(format: "%.3f", seconds))")
        if stats.outOfOrder + stats.unknownRefs > 0 {
            print(" > skipped samples: \(stats.outOfOrder) out of order, \(stats.unknownRefs) of unknown series")
        }
        try db.close()
    }
}
