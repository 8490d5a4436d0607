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
        let parsed = try QueryLine.parseFile(text, start: start, end: end)
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

/// One line of a query file: an instant or range query with times resolved.
struct QueryLine {
    enum Kind { case instant(Int64), range(start: Int64, end: Int64, step: Int64) }
    var kind: Kind
    var expr: String
    var line: Int

    func run(_ engine: PromQLEngine, _ db: DB) throws(PromQLError) -> PromQLResult {
        switch kind {
        case .instant(let t): try engine.instantQuery(db, expr, at: t)
        case .range(let s, let e, let step): try engine.rangeQuery(db, expr, start: s, end: e, step: step)
        }
    }

    static func parseFile(_ text: String, start: Int64, end: Int64) throws -> [QueryLine] {
        var out: [QueryLine] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let q = parse(line, start: start, end: end, number: n + 1) else {
                throw ValidationError("line \(n + 1) of the query file is not understood: \(line)")
            }
            out.append(q)
        }
        return out
    }

    static func parse(_ line: String, start: Int64, end: Int64, number: Int) -> QueryLine? {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let rest = line[line.index(after: space)...]
        func time(_ s: String) -> Int64? { resolve(s, start: start, end: end) }
        switch line[..<space] {
        case "instant":
            let f = rest.split(separator: " ", maxSplits: 1).map(String.init)
            guard f.count == 2, let t = time(f[0]), let expr = expand(f[1], start: start, end: end) else { return nil }
            return QueryLine(kind: .instant(t), expr: expr, line: number)
        case "range":
            let f = rest.split(separator: " ", maxSplits: 3).map(String.init)
            guard f.count == 4, let s = time(f[0]), let e = time(f[1]), let step = try? PromQLDuration.parse(f[2]),
                  let expr = expand(f[3], start: start, end: end) else { return nil }
            return QueryLine(kind: .range(start: s, end: e, step: step), expr: expr, line: number)
        default:
            return nil
        }
    }

    /// `S`, `E`, `S+<duration>`, `E-<duration>` in milliseconds.
    static func resolve(_ s: String, start: Int64, end: Int64) -> Int64? {
        guard let head = s.first, head == "S" || head == "E" else { return nil }
        let base = head == "S" ? start : end
        let rest = s.dropFirst()
        if rest.isEmpty { return base }
        guard let sign = rest.first, sign == "+" || sign == "-",
              let d = try? PromQLDuration.parse(String(rest.dropFirst())) else { return nil }
        return sign == "+" ? base + d : base - d
    }

    /// Replaces each `{{time}}` by the time in Unix seconds (with milliseconds when needed).
    static func expand(_ expr: String, start: Int64, end: Int64) -> String? {
        var out = ""
        var rest = Substring(expr)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}"),
                  let ms = resolve(String(rest[open.upperBound..<close.lowerBound]), start: start, end: end) else { return nil }
            out += rest[..<open.lowerBound]
            out += ms % 1000 == 0 ? "\(ms / 1000)" : String(format: "%.3f", Double(ms) / 1000)
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
