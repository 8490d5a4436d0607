import ArgumentParser
import Exposition
import TSDB
import TSDBTools

import Foundation

/// `tsdb-inspect import openmetrics FILE DIR`: backfills blocks, as `promtool tsdb
/// create-blocks-from openmetrics` does.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write blocks from exposition text (backfill).",
        discussion: """
            Example:
              tsdb-inspect import openmetrics metrics.om data/
            """,
        subcommands: [OpenMetrics.self])

    struct OpenMetrics: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "openmetrics",
            abstract: "Write blocks from OpenMetrics or Prometheus text, as `promtool tsdb create-blocks-from openmetrics`.",
            discussion: """
                The file is OpenMetrics when it ends with `# EOF` (timestamps in seconds),
                otherwise the Prometheus text exposition format (timestamps in ms, often
                none: those lines get --timestamp, or the current time). Blocks are aligned
                to the block duration and go straight into DIR, without the WAL; the data
                becomes visible to a running database when it next loads blocks. A bad line
                is an error with its line number and nothing is written. The file may be
                larger than memory: it is read once per block.

                Examples:
                  tsdb-inspect import openmetrics metrics.om data/
                  curl -s http://localhost:9100/metrics > now.prom
                  tsdb-inspect import openmetrics now.prom data/ --timestamp 1700000000000
                """)

        @Argument(help: "The input file.")
        var file: String

        @Argument(help: "The data directory to write blocks into (created if missing).")
        var directory: String

        @Option(name: [.customLong("block-duration"), .customLong("max-block-duration")],
                help: "Largest block to write, e.g. 2h (the minimum), 6h, 1d.")
        var blockDuration = "2h"

        @Option(help: "Timestamp in ms for lines without one (default: now).")
        var timestamp: Int64?

        @Option(help: "auto (default), openmetrics or prometheus.")
        var format = "auto"

        @Flag(name: [.customLong("quiet"), .customShort("q")], help: "Do not print the blocks written.")
        var quiet = false

        @Flag(name: [.customLong("human-readable"), .customShort("r")], help: "Print times and sizes readably.")
        var human = false

        func run() throws {
            guard let duration = parseDuration(blockDuration), duration > 0 else {
                throw ValidationError("--block-duration \(blockDuration) is not a duration such as 2h or 90m")
            }
            var options = ImportOptions(defaultTimestamp: timestamp ?? Int64(Date().timeIntervalSince1970 * 1000))
            options.maxBlockDuration = duration
            switch format {
            case "auto": options.format = nil
            case "openmetrics": options.format = .openMetrics
            case "prometheus", "text": options.format = .prometheusText
            default: throw ValidationError("--format must be auto, openmetrics or prometheus")
            }
            var bar = ProgressBar("import", total: 1000)
            let report = try reportingErrors { () throws(TSDBError) -> ImportReport in
                if FileSystem_isDirectory(directory) { try Inspect.requireDataDirectory(directory) }
                return try Inspect.importText(file: file, into: directory, options: options) { bar.update(Int($0 * 1000)) }
            }
            bar.finish()
            guard !quiet else { return }
            var rows = [["BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES", "SIZE"]]
            let sizes = (try? Inspect.blocks(in: directory)) ?? []
            for m in report.blocks {
                let size = sizes.first { $0.meta.ulid == m.ulid }?.size ?? 0
                rows.append([
                    m.ulid.description,
                    human ? GoFormat.utcTime(milliseconds: m.minTime) : String(m.minTime),
                    human ? GoFormat.utcTime(milliseconds: m.maxTime) : String(m.maxTime),
                    GoFormat.duration(milliseconds: m.maxTime - m.minTime),
                    String(m.stats.numSamples), String(m.stats.numChunks), String(m.stats.numSeries),
                    human ? GoFormat.base2Bytes(size) : String(size),
                ])
            }
            print(GoFormat.table(rows), terminator: "")
            if report.dropped > 0 {
                printError("tsdb-inspect: dropped \(report.dropped) out-of-order or duplicate samples, as promtool does")
            }
        }
    }
}

/// Whether `path` is an existing directory.
func FileSystem_isDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
}
