import ArgumentParser
import Exposition
import TSDB
import TSDBTools

/// `tsdb-inspect list DIR`: one row per block, the columns of `promtool tsdb list`.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the blocks of a data directory, as `promtool tsdb list` does.",
        discussion: """
            Columns: ULID, min time, max time (ms, exclusive), duration, samples, chunks,
            series, size in bytes (chunks + index + tombstones + meta.json).

            Example:
              tsdb-inspect list data/ --human
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Flag(name: [.customLong("human"), .customLong("human-readable"), .customShort("r")],
          help: "Print times as UTC dates and sizes in KiB/MiB.")
    var human = false

    func run() throws {
        let blocks = try reportingErrors { () throws(TSDBError) -> [InspectedBlock] in
            try Inspect.requireDataDirectory(directory)
            return try Inspect.blocks(in: directory)
        }
        var rows = [["BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES", "SIZE"]]
        for b in blocks {
            let m = b.meta
            rows.append([
                m.ulid.description,
                human ? GoFormat.utcTime(milliseconds: m.minTime) : String(m.minTime),
                human ? GoFormat.utcTime(milliseconds: m.maxTime) : String(m.maxTime),
                GoFormat.duration(milliseconds: m.maxTime &- m.minTime),
                String(m.stats.numSamples), String(m.stats.numChunks), String(m.stats.numSeries),
                human ? GoFormat.base2Bytes(b.size) : String(b.size),
            ])
        }
        print(GoFormat.table(rows), terminator: "")
    }
}
