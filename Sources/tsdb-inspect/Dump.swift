import ArgumentParser
import Exposition
import TSDB
import TSDBTools

/// `tsdb-inspect dump DIR`: every sample of the blocks and the head (replayed from the WAL),
/// in `promtool tsdb dump`'s line format or as OpenMetrics text.
struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print every sample of blocks and WAL, as `promtool tsdb dump` does.",
        discussion: """
            Each line is `{__name__="x", job="y"} <value> <timestamp-ms>`, values as Go's %g
            prints them; series sorted by labels, samples by time. The directory is opened
            read-only, so a running database may hold it.

            Examples:
              tsdb-inspect dump data/ --match 'up{job="api"}' --min-time 1700000000000
              tsdb-inspect dump data/ --format openmetrics > backup.om
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case promtool, openmetrics
    }

    @Argument(help: "The data directory.")
    var directory: String

    @Option(name: .customLong("min-time"), help: "Minimum timestamp to dump, in ms (inclusive).")
    var minTime: Int64 = .min

    @Option(name: .customLong("max-time"), help: "Maximum timestamp to dump, in ms (inclusive).")
    var maxTime: Int64 = .max

    @Option(help: "Series selector, e.g. 'up{job=\"api\"}'. Default: every series.")
    var match: String?

    @Option(help: "promtool (default) or openmetrics, which `import openmetrics` reads back.")
    var format: Format = .promtool

    func run() throws {
        let series = try reportingErrors { () throws(TSDBError) -> [Series] in
            try Inspect.requireDataDirectory(directory)
            var matchers = [try Matcher(.regexMatch, "__name__", ".*")]
            if let match { matchers = try Selector.parse(match) }
            let db = try DB.openReadOnly(directory: directory)
            defer { try? db.close() }
            for note in db.replayStats.notes { printError("tsdb-inspect: note: \(note)") }
            return try db.querier(minTime: minTime, maxTime: maxTime).select(matchers)
        }
        var out = OutputBuffer()
        var progress = ProgressBar("dump", total: series.count)
        var skipped = 0
        for (i, s) in series.enumerated() {
            progress.update(i)
            var it = s.makeIterator()
            switch format {
            case .promtool:
                let prefix = Array((s.labels.description + " ").utf8)
                while let sample = it.next() {
                    out.bytes.append(contentsOf: prefix)
                    GoFormat.appendFloat(sample.value, to: &out.bytes)
                    out.bytes.append(0x20)
                    appendInteger(sample.timestamp, to: &out.bytes)
                    out.bytes.append(0x0A)
                    out.flushIfFull()
                }
            case .openmetrics:
                guard let name = s.labels.openMetricsPrefix else { skipped += 1; continue }
                let prefix = Array((name + " ").utf8)
                while let sample = it.next() {
                    out.bytes.append(contentsOf: prefix)
                    GoFormat.appendFloat(sample.value, to: &out.bytes)
                    out.bytes.append(0x20)
                    OpenMetricsText.appendTimestamp(milliseconds: sample.timestamp, to: &out.bytes)
                    out.bytes.append(0x0A)
                    out.flushIfFull()
                }
            }
            if let error = it.error {
                out.flush()
                progress.finish()
                printError("tsdb-inspect: \(error.message)" + (error.location.map { " (\($0))" } ?? ""))
                throw ExitCode.failure
            }
        }
        if format == .openmetrics { out.write("# EOF\n") }
        out.flush()
        progress.finish()
        if skipped > 0 { printError("tsdb-inspect: skipped \(skipped) series without a metric name, which OpenMetrics cannot hold") }
    }
}

/// Appends the decimal digits of `v`.
func appendInteger(_ v: Int64, to out: inout [UInt8]) {
    if v < 0 { out.append(UInt8(ascii: "-")) }
    var m = v.magnitude
    if m == 0 { out.append(0x30); return }
    var tmp = [UInt8](repeating: 0, count: 20)
    var i = 20
    while m > 0 { i -= 1; tmp[i] = UInt8(truncatingIfNeeded: m % 10) &+ 0x30; m /= 10 }
    out.append(contentsOf: tmp[i...])
}
