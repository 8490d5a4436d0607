import ArgumentParser
import Dispatch
import Foundation
import PromQL
import TSDB

/// Times a fixed set of PromQL queries in process over a data directory opened read-only:
/// the "ours" column of scripts/promql-vs-prometheus.sh.
struct PromQLBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promql",
        abstract: "Time PromQL queries in process over a read-only data directory.",
        discussion: """
            FILE holds one query a line in the corpus format (see
            Tests/PromQLTests/Differential/Fixtures/corpus.txt):
              instant <time> <expr>
              range <start> <end> <step> <expr>
            where a time is S, E, S±<duration> or E±<duration> (S and E: the blocks' range
            rounded out to whole hours, i.e. the promql-data generator's start and end) and a
            step a PromQL duration; `{{<time>}}` in the expression becomes Unix seconds.
            Lines starting with # and blank lines are skipped.
            Each query runs --rounds times; the line printed per query is
              query<TAB>median-ms<TAB>peak-rss-MiB<TAB>result-size<TAB>expression
            (peak RSS over that query's rounds, reset before it through /proc/self/clear_refs
            where the kernel allows), then the process's peak RSS.
            Example:
              tsdb-bench promql /tmp/bench10k --queries scripts/promql-bench-queries.txt --rounds 5
            """)

    @Argument(help: "The data directory (opened read-only).")
    var directory: String

    @Option(help: "The queries, in the corpus format.")
    var queries: String

    @Option(help: "Runs of each query; the median is reported.")
    var rounds = 5

    func validate() throws {
        guard rounds > 0 else { throw ValidationError("--rounds must be positive") }
    }

    func run() throws {
        let db = try DB.openReadOnly(directory: directory)
        defer { try? db.close() }
        let blocks = db.blocks
        guard let first = blocks.map(\.minTime).min(), let last = blocks.map(\.maxTime).max() else {
            throw ValidationError("\(directory) holds no blocks")
        }
        let text = try String(contentsOfFile: queries, encoding: .utf8)
        // S and E: the blocks' range rounded out to whole hours (the generator's --start and end).
        let hour: Int64 = 3_600_000
        let start = first - ((first % hour) + hour) % hour
        let end = last % hour == 0 ? last : last - ((last % hour) + hour) % hour + hour
        let parsed = try PromQLQueryLine.parseFile(text, start: start, end: end)
        let engine = PromQLEngine()
        print(">> \(blocks.count) blocks, [\(first), \(last)) ms, S=\(start) E=\(end), \(parsed.count) queries, \(rounds) rounds")
        for q in parsed {
            Self.resetPeak()
            var times: [Double] = []
            var size = "-"
            for _ in 0..<rounds {
                let began = DispatchTime.now()
                do {
                    let result = try q.run(engine, db)
                    size = Self.size(result)
                } catch {
                    size = "error: \(error)"
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds) / 1e6)
            }
            times.sort()
            let median = times[times.count / 2]
            let peak = Double(Self.peakResidentBytes()) / 1_048_576
            print("query\t\(String(format: "%.3f", median))\t\(String(format: "%.1f", peak))\t\(size)\t\(q.expr)")
            fflush(nil)
        }
        print(" > peak RSS: \(String(format: "%.1f", Double(Self.peakResidentBytes()) / 1_048_576)) MiB")
    }

    static func size(_ result: PromQLResult) -> String {
        switch result {
        case .vector(let v): "\(v.count) samples"
        case .matrix(let m): "\(m.count) series, \(m.reduce(0) { $0 + $1.points.count }) points"
        case .scalar: "scalar"
        case .string: "string"
        }
    }

    /// VmHWM from /proc/self/status, in bytes (0 where /proc is missing).
    static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").dropFirst().first { Int($0) != nil }
            return (digits.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }

    /// Resets VmHWM to the current RSS (Linux ≥ 4.0); harmless where it is not allowed.
    static func resetPeak() {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return }
        fputs("5", f)
        fclose(f)
    }
}
