import ArgumentParser
import Exposition
import TSDB
import TSDBTools

/// `tsdb-inspect dump-wal DIR`: the WAL's records, for debugging.
struct DumpWAL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-wal",
        abstract: "Print the WAL's records (checkpoint first) with segment and offset.",
        discussion: """
            One line per record: `<segment file> @<offset> <type> …`, then one indented line
            per series, sample or tombstone. Records of types this engine does not read are
            printed as skipped; damage is printed where it is and ends that segment.

            Example:
              tsdb-inspect dump-wal data/ | less
            """)

    @Argument(help: "The data directory.")
    var directory: String

    @Flag(help: "Print only the record lines, not their entries.")
    var summary = false

    func run() throws {
        var out = OutputBuffer()
        let problems = try reportingErrors { () throws(TSDBError) -> [InspectProblem] in
            try Inspect.requireDataDirectory(directory)
            return try Inspect.walkWAL(directory: directory) { record in
                let at = "\(record.file) @\(record.offset)"
                switch record.content {
                case .series(let series):
                    out.write("\(at) series n=\(series.count)\n")
                    if !summary { for s in series { out.write("  ref=\(s.ref) \(s.labels)\n") } }
                case .samples(let samples):
                    out.write("\(at) samples n=\(samples.count)\n")
                    if !summary {
                        for s in samples { out.write("  ref=\(s.ref) t=\(s.timestamp) v=\(GoFormat.float(s.value))\n") }
                    }
                case .tombstones(let stones):
                    out.write("\(at) tombstones n=\(stones.count)\n")
                    if !summary { for t in stones { out.write("  ref=\(t.ref) [\(t.minTime), \(t.maxTime)]\n") } }
                case .unknown(let type, let length):
                    out.write("\(at) unknown type \(type), \(length) bytes: skipped\n")
                }
            }
        }
        for p in problems { out.write("damage: \(p)\n") }
        out.flush()
    }
}
