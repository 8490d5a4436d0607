import ArgumentParser
import Exposition
import TSDB
import TSDBTools

/// `tsdb-inspect verify DIR`: every checksum and the index's consistency.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum in every block and the WAL, and the index's consistency.",
        discussion: """
            Prints one line per problem, `<file> at offset <n>: <what>`, and exits 1 if there
            is any. A torn tail that a crash leaves and the next open repairs without losing
            an acknowledged sample (a torn record at the end of a WAL segment, a torn chunk at
            the end of the last head chunk file, or that file ending inside its header) is a `note:` line instead.
            Checks index sections, series and postings CRCs, every chunk's CRC, the
            tombstones, every WAL record, and Thanos's index checks: series
            sorted and unique, label sets not empty, chunks inside the block's time range and
            not overlapping, counts matching meta.json. Reads only.

            Example:
              tsdb-inspect verify data/ && echo healthy
            """)

    @Argument(help: "The data directory.")
    var directory: String

    func run() throws {
        let report = try reportingErrors { () throws(TSDBError) -> VerifyReport in
            try Inspect.requireDataDirectory(directory)
            return try Inspect.verify(directory: directory)
        }
        for n in report.notes { print("note: \(n) (a crash's torn tail; the next open repairs it)") }
        for p in report.problems { print("problem: \(p)") }
        print("verified \(report.blocks) blocks (\(report.series) series, \(report.chunks) chunks), \(report.walRecords) WAL records and \(report.headChunks) head chunks: \(report.problems.isEmpty ? "no problems" : "\(report.problems.count) problem(s)")")
        if !report.problems.isEmpty { throw ExitCode.failure }
    }
}

/// `tsdb-inspect analyze DIR [BLOCK]`: the report of `promtool tsdb analyze`.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Report churn, label cardinality and chunk statistics of a block, as `promtool tsdb analyze`.",
        discussion: """
            Analyzes BLOCK (a ULID), or the last block. Lists are sorted by count, then name.

            Example:
              tsdb-inspect analyze data/ --limit 10
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Argument(help: "The block's ULID (default: the last block).")
    var block: String?

    @Option(help: "How many items to show in each list.")
    var limit = 20

    func run() throws {
        let a = try reportingErrors { () throws(TSDBError) -> BlockAnalysis in
            try Inspect.requireDataDirectory(directory)
            return try Inspect.analyze(directory: directory, block: block)
        }
        var out = ""
        out += "Block ID: \(a.meta.ulid)\n"
        out += "Duration: \(GoFormat.duration(milliseconds: a.meta.maxTime &- a.meta.minTime))\n"
        out += "Series: \(a.meta.stats.numSeries)\n"
        out += "Label names: \(a.labelNameCount)\n"
        out += "Postings (unique label pairs): \(a.postings)\n"
        out += "Postings entries (total label pairs): \(a.postingEntries)\n"
        func list(_ title: String, _ items: [(key: String, count: UInt64)]) {
            out += "\n\(title):\n"
            for item in items.prefix(limit) { out += "\(item.count) \(item.key)\n" }
        }
        list("Label pairs most involved in churning", a.churningPairs)
        list("Label names most involved in churning", a.churningNames)
        list("Most common label pairs", a.commonPairs)
        list("Label names with highest cumulative label value length", a.valueLengths)
        list("Highest cardinality labels", a.cardinalityLabels)
        list("Highest cardinality metric names", a.cardinalityMetrics)
        out += "\nChunks: \(a.chunks), samples: \(a.samples), chunk bytes: \(a.chunkBytes)"
        if a.samples > 0 { out += ", bytes per sample: \(GoFormat.float((Double(a.chunkBytes) / Double(a.samples) * 100).rounded() / 100))" }
        if a.chunks > 0 { out += ", samples per chunk: \(GoFormat.float((Double(a.samples) / Double(a.chunks) * 10).rounded() / 10))" }
        out += "\nFullness: amount of samples in chunks (100% is 120 samples)\n"
        for (i, n) in a.fullness.enumerated() {
            let label = String((i + 1) * 10)
            out += String(repeating: " ", count: max(0, 7 - label.count)) + label + "%: " + String(repeating: "#", count: 100 * n / max(a.chunks, 1)) + "\n"
        }
        print(out, terminator: "")
    }
}
