import Foundation
import Testing
import TSDB
import TSDBTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tsdb-bench write --report-commits` killed with SIGKILL at a random moment, then its data
/// directory reopened in this process. A commit that returned survives a crash of the
/// process (its bytes are in the kernel), so after reopening:
/// - every commit the child reported is there, for every series of its shard, with its value;
/// - no transaction is there in part: the series of a shard have the same timestamps;
/// - nothing is there that was not committed: a shard holds at most one scrape more than it
///   reported (the commit that returned just before the kill), and never a later round
///   before an earlier one finished;
/// - the directory always opens, with at most a torn tail cut away.
///
/// 50 kills by default; `TSDB_CRASH_ITERATIONS=1000` for a long run, `TSDB_TEST_SEED` to
/// replay the same kill plans (the kill moments themselves depend on scheduling).
@Suite(.heavy) struct CrashTests {
    static let dataset = Repository.path("Fixtures/node-exporter/series-10k.jsonl")
    /// Three shards (1000, 1000 and 500 series) ingest concurrently.
    static let metrics = 2_500
    /// Far more than the child reaches before it is killed.
    static let scrapes = 1_000_000

    @Test func everyAcknowledgedCommitSurvivesSIGKILL() throws {
        let iterations = ProcessInfo.processInfo.environment["TSDB_CRASH_ITERATIONS"].flatMap(Int.init) ?? 50
        var rng = SeededRandom.fromEnvironment()
        let bench = try Products.path("tsdb-bench")
        let labels = try BenchWorkload.labelSets(Self.dataset, limit: Self.metrics)
        try #require(labels.count == Self.metrics)
        let started = Date()
        var totals = Totals()

        for iteration in 0..<iterations {
            let plan = KillPlan.random(using: &rng)
            let dir = try TemporaryDirectory("tsdb-crash")
            let context = "TSDB_TEST_SEED=\(rng.seed), iteration \(iteration), \(plan), data in \(dir.path)"
            let childStart = Date()
            let run = try Self.runAndKill(bench, plan: plan, out: dir.path)
            totals.childSeconds += Date().timeIntervalSince(childStart)
            var problems = run.problems
            if problems.isEmpty {
                let verifyStart = Date()
                problems = Self.verify(storage: dir.path + "/storage", labels: labels, reported: run.reported, totals: &totals)
                totals.verifySeconds += Date().timeIntervalSince(verifyStart)
            }
            if !problems.isEmpty {
                // Keep the directory for a look, with what the child acknowledged beside it.
                let acknowledged = run.reported.enumerated().map { "shard \($0): \($1.count) commits, last \($1.last ?? 0)" }
                let record = ([context] + problems + acknowledged).joined(separator: "\n") + "\n"
                try? Data(record.utf8).write(to: URL(fileURLWithPath: dir.path + "/problems.txt"))
                for problem in problems { Issue.record("\(problem)\n  (\(context))") }
                return
            }
            totals.count(run)
            dir.remove()
        }
        print("CrashTests (TSDB_TEST_SEED=\(rng.seed)): \(iterations) kills in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, \(totals)")
    }

    /// The check itself, on a directory written in-process with the damage it must catch.
    @Test func theCheckCatchesLostPartialAndWrongCommits() throws {
        let labels = try BenchWorkload.labelSets(Self.dataset, limit: Self.metrics)
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir + "/storage")
            /// Commits scrape `k` for `series`, with 42 instead of the right value for `wrong`.
            func commit(_ series: Range<Int>, scrape k: Int, wrong: Int? = nil) throws {
                var app = try db.appender()
                for i in series {
                    let value = i == wrong ? 42 : BenchWorkload.value(scrape: k)
                    try app.append(labels[i], timestamp: BenchWorkload.timestamp(scrape: k), value: value)
                }
                try app.commit()
            }
            try commit(0..<2_500, scrape: 0)
            try commit(0..<500, scrape: 1)  // shard 0: half of a transaction
            try commit(1_000..<2_500, scrape: 1, wrong: 2_499)  // shard 2: one wrong value
            try db.close()

            var totals = Totals()
            let reported: [[Int64]] = [[30_000, 60_000], [30_000, 60_000, 90_000], [30_000]]
            let problems = Self.verify(storage: dir + "/storage", labels: labels, reported: reported, totals: &totals)
            let text = problems.joined(separator: "\n")
            #expect(text.contains("shard 0: series #500 "), "\(text)")
            #expect(text.contains("shard 1: 1 acknowledged commit(s) missing after reopening (reported up to 90000, present up to 60000): [90000]"), "\(text)")
            #expect(text.contains("series #2499 ") && text.contains("has sample 42.0 @ 60000, which no scrape wrote"), "\(text)")
            #expect(!text.contains("shard 2: 2 scrapes present"), "one unreported commit is allowed: \(text)")
        }
    }

    // MARK: - The child

    /// When to kill the child, and how it is configured.
    struct KillPlan: CustomStringConvertible {
        enum Moment {
            /// After the child reported this many commits (over all shards), plus a pause.
            case afterCommits(Int, pauseMicroseconds: UInt32)
            /// This long after it was started: before, during or just after it opens the DB.
            case afterMilliseconds(Int)
            /// As soon as a `*.tmp-for-creation` block directory appears, plus a pause: in the
            /// middle of writing a block (with `compaction`).
            case duringBlockWrite(pauseMicroseconds: UInt32)
        }

        var moment: Moment
        var walSegmentSize: Int?
        var walCompression: String
        /// Whether the child cuts blocks in the background, so kills land during block
        /// writing, head truncation and WAL checkpoints too.
        var compaction = false

        static func random(using rng: inout SeededRandom) -> KillPlan {
            let moment: Moment
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: moment = .afterMilliseconds(Int.random(in: 0...250, using: &rng))
            // Across a round of 100 scrapes: 3 shards make 300 commits per round.
            case 1: moment = .afterCommits(Int.random(in: 150...400, using: &rng), pauseMicroseconds: UInt32.random(in: 0...3_000, using: &rng))
            default: moment = .afterCommits(Int.random(in: 1...150, using: &rng), pauseMicroseconds: UInt32.random(in: 0...3_000, using: &rng))
            }
            // Small segments make the kill land near segment cuts; 256 KiB still holds the
            // uncompressed series record of a shard's first commit (about 140 KB).
            let segment = [nil, 256 * 1024, 512 * 1024].randomElement(using: &rng)!
            let compression = ["snappy", "none", "lz4"].randomElement(using: &rng)!
            if Int.random(in: 0..<10, using: &rng) == 0 {
                return KillPlan(moment: .duringBlockWrite(pauseMicroseconds: UInt32.random(in: 0...60_000, using: &rng)),
                                walSegmentSize: segment, walCompression: compression, compaction: true)
            }
            if Int.random(in: 0..<5, using: &rng) == 0 {
                // 3 h of head data (360 scrapes of each of 3 shards) starts the first block.
                let after = Int.random(in: 1_200...3_000, using: &rng)
                return KillPlan(moment: .afterCommits(after, pauseMicroseconds: UInt32.random(in: 0...3_000, using: &rng)),
                                walSegmentSize: segment, walCompression: compression, compaction: true)
            }
            return KillPlan(moment: moment, walSegmentSize: segment, walCompression: compression)
        }

        var description: String {
            let when = switch moment {
            case .afterCommits(let n, let pause): "kill after \(n) reported commits + \(pause) µs"
            case .afterMilliseconds(let ms): "kill \(ms) ms after start"
            case .duringBlockWrite(let pause): "kill \(pause) µs after a block write begins"
            }
            return "\(when), WAL segments of \(walSegmentSize.map(String.init) ?? "default") bytes, \(walCompression)\(compaction ? ", compacting" : "")"
        }
    }

    struct ChildRun {
        /// Reported timestamps per shard, in the order they were reported.
        var reported: [[Int64]]
        /// Problems with the child itself: it exited on its own, stalled or printed nonsense.
        var problems: [String] = []
    }

    /// Starts `tsdb-bench write`, reads its reports as they come and kills it with SIGKILL
    /// at the plan's moment; returns once it is dead and every line it wrote has been read.
    static func runAndKill(_ bench: String, plan: KillPlan, out: String) throws -> ChildRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bench)
        var arguments = ["write", "--out", out, "--report-commits", "--metrics", "\(metrics)",
                         "--scrapes", "\(scrapes)", "--wal-compression", plan.walCompression]
        if let size = plan.walSegmentSize { arguments += ["--wal-segment-size", "\(size)"] }
        if plan.compaction { arguments.append("--compaction") }
        arguments.append(dataset)
        process.arguments = arguments
        let stderrPath = out + "/stderr.txt"
        guard FileManager.default.createFile(atPath: stderrPath, contents: nil) else {
            throw CommandFailure(description: "cannot create \(stderrPath)")
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice

        let fd = pipe.fileHandleForReading.fileDescriptor
        var lines = LineSplitter()
        var run = ChildRun(reported: Array(repeating: [], count: BenchWorkload.shardCount(series: metrics)))
        var commits = 0
        var killed = false
        let start = DispatchTime.now().uptimeNanoseconds
        try process.run()
        let pid = process.processIdentifier

        func consume(_ line: Substring) {
            guard line.hasPrefix("committed ") else { return }
            let fields = line.split(separator: " ")
            guard fields.count == 3, let shard = Int(fields[1]), run.reported.indices.contains(shard),
                  let timestamp = Int64(fields[2])
            else {
                run.problems.append("tsdb-bench printed a malformed report: \(line)")
                return
            }
            run.reported[shard].append(timestamp)
            commits += 1
        }

        // Reads until the plan's moment, or until the child stops on its own.
        reading: while true {
            let elapsedMs = Int((DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
            var timeout: Int32 = 60_000  // a child silent this long has stalled
            if case .afterMilliseconds(let ms) = plan.moment { timeout = Int32(max(0, ms - elapsedMs)) }
            if case .duringBlockWrite(let pause) = plan.moment {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: out + "/storage")) ?? []
                if names.contains(where: { $0.hasSuffix(".tmp-for-creation") }) {
                    if pause > 0 { usleep(pause) }
                    kill(pid, SIGKILL)
                    killed = true
                    break reading
                }
                if elapsedMs > 120_000 {
                    kill(pid, SIGKILL)
                    run.problems.append("tsdb-bench wrote no block within 120 s (killed it)")
                    break reading
                }
                timeout = 1
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                throw CommandFailure(description: "poll: errno \(errno)")
            }
            if ready == 0 {
                if case .duringBlockWrite = plan.moment { continue }
                if case .afterMilliseconds = plan.moment {
                    kill(pid, SIGKILL)
                    killed = true
                } else {
                    kill(pid, SIGKILL)
                    run.problems.append("tsdb-bench reported nothing for 60 s after \(commits) commits: stalled (killed it)")
                }
                break reading
            }
            guard let chunk = readAvailable(fd) else { break reading }  // end of file: the child exited
            for line in lines.feed(chunk) {
                consume(line)
                if !killed, case .afterCommits(let n, let pause) = plan.moment, commits == n {
                    if pause > 0 { usleep(pause) }
                    kill(pid, SIGKILL)
                    killed = true
                    // The rest of this read's lines are reports too: consume them below.
                }
            }
            if killed { break reading }
        }
        process.waitUntilExit()
        // The child is dead: whatever it wrote is in the pipe. Read it without waiting for an
        // end of file that a descriptor inherited by some other child could hold back.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        while let chunk = readAvailable(fd) {
            for line in lines.feed(chunk) { consume(line) }
        }
        try? pipe.fileHandleForReading.close()

        if !killed || process.terminationReason != .uncaughtSignal || process.terminationStatus != SIGKILL {
            let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            run.problems.append("tsdb-bench was not killed by the test: it ended on its own (reason \(process.terminationReason.rawValue), status \(process.terminationStatus)) after \(commits) reported commits; stderr: \(stderr)")
        }
        return run
    }


    /// Splits a byte stream into lines, keeping a partial last line for the next chunk.
    struct LineSplitter {
        private var pending: [UInt8] = []

        mutating func feed(_ bytes: [UInt8]) -> [Substring] {
            pending += bytes
            guard let last = pending.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
            let text = String(decoding: pending[...last], as: UTF8.self)
            pending.removeSubrange(...last)
            return text.split(separator: "\n")
        }
    }

    // MARK: - The reopened directory

    /// What the kills covered, printed at the end.
    struct Totals: CustomStringConvertible {
        var kills = 0
        var reportedCommits = 0
        var unreportedCommits = 0
        var tornTails = 0
        var samples = 0
        /// Reopenings that found blocks the child had cut, and leftovers of one it was writing.
        var withBlocks = 0
        var blockLeftovers = 0
        var childSeconds = 0.0
        var verifySeconds = 0.0

        mutating func count(_ run: ChildRun) {
            kills += 1
            reportedCommits += run.reported.reduce(0) { $0 + $1.count }
        }

        var description: String {
            "\(reportedCommits) acknowledged commits checked, \(unreportedCommits) more found committed but not yet reported, "
                + "\(tornTails) reopenings cut a torn tail, \(withBlocks) found blocks (\(blockLeftovers) a half-written one), \(samples) samples replayed; "
                + String(format: "%.1f s running tsdb-bench, %.1f s reopening and checking", childSeconds, verifySeconds)
        }
    }

    /// Reopens `storage` and lists every way it breaks the invariants of the type's comment.
    static func verify(storage: String, labels: [Labels], reported: [[Int64]], totals: inout Totals) -> [String] {
        var problems: [String] = []
        let db: DB
        let names = (try? FileManager.default.contentsOfDirectory(atPath: storage)) ?? []
        if names.contains(where: { $0.hasSuffix(".tmp-for-creation") }) { totals.blockLeftovers += 1 }
        do {
            db = try DB.open(directory: storage)
            if !db.blocks.isEmpty { totals.withBlocks += 1 }
        } catch {
            return ["DB.open failed after the kill: \(error)"]
        }
        defer { try? db.close() }
        let stats = db.replayStats
        if !stats.notes.isEmpty { totals.tornTails += 1 }
        totals.samples += stats.samples
        if stats.outOfOrder != 0 || stats.unknownRefs != 0 {
            problems.append("replay met \(stats.outOfOrder) out-of-order samples and \(stats.unknownRefs) samples of unknown series; notes: \(stats.notes)")
        }

        // Timestamps of every series, in file order; a series missing from the head has none.
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var timestamps = [[Int64]](repeating: [], count: labels.count)
        do {
            let all = try db.querier(minTime: .min, maxTime: .max).select([Matcher(.regexMatch, "__name__", ".+")])
            for series in all {
                guard let i = index[series.labels] else {
                    problems.append("the head holds a series tsdb-bench never wrote: \(series.labels)")
                    continue
                }
                var it = series.makeIterator()
                while let sample = it.next() {
                    guard let k = BenchWorkload.scrape(at: sample.timestamp),
                          sample.value.bitPattern == BenchWorkload.value(scrape: k).bitPattern
                    else {
                        problems.append("series #\(i) \(series.labels) has sample \(sample.value) @ \(sample.timestamp), which no scrape wrote")
                        continue
                    }
                    timestamps[i].append(sample.timestamp)
                }
                if let error = it.error { problems.append("series #\(i) \(series.labels): chunk damaged: \(error)") }
            }
        } catch {
            return problems + ["querying the reopened DB failed: \(error)"]
        }

        var scrapesPresent: [Int] = []
        for shard in reported.indices {
            let range = BenchWorkload.shardRange(shard, count: labels.count)
            let union = Set(range.flatMap { timestamps[$0] })
            let present = union.sorted()
            scrapesPresent.append(present.count)
            // A transaction is all of a shard's series at one timestamp: all there or none.
            var halves = 0
            for i in range where timestamps[i] != present {
                halves += 1
                if halves <= 3 {
                    let missing = union.subtracting(timestamps[i]).sorted()
                    problems.append("shard \(shard): series #\(i) \(labels[i]) lacks \(missing.count) timestamp(s) other series of the shard have (half a transaction): \(Self.abbreviated(missing))")
                }
            }
            if halves > 3 { problems.append("shard \(shard): \(halves) series in all lack timestamps of their shard") }

            // Commits of a shard follow one another: what is there is a prefix of its scrapes.
            let prefix = (0..<present.count).map { BenchWorkload.timestamp(scrape: $0) }
            if present != prefix {
                problems.append("shard \(shard): the scrapes present are not the first \(present.count): \(Self.abbreviated(present))")
            }
            let acknowledged = reported[shard]
            if acknowledged != (0..<acknowledged.count).map({ BenchWorkload.timestamp(scrape: $0) }) {
                problems.append("shard \(shard): tsdb-bench reported commits out of order: \(Self.abbreviated(acknowledged))")
            }
            let lost = acknowledged.filter { !union.contains($0) }
            if !lost.isEmpty {
                problems.append("shard \(shard): \(lost.count) acknowledged commit(s) missing after reopening (reported up to \(acknowledged.last ?? 0), present up to \(present.last ?? 0)): \(Self.abbreviated(lost))")
            }
            if present.count > acknowledged.count + 1 {
                problems.append("shard \(shard): \(present.count) scrapes present but only \(acknowledged.count) reported; at most one commit can return unreported")
            }
            totals.unreportedCommits += max(0, present.count - acknowledged.count)
        }
        // Rounds of 100 scrapes are a barrier: a shard starts round r+1 once all finished r.
        if let most = scrapesPresent.max(), most > 0 {
            let finishedRounds = (most - 1) / 100 * 100
            for (shard, n) in scrapesPresent.enumerated() where n < finishedRounds {
                problems.append("shard \(shard) holds \(n) scrapes while another holds \(most): the round before was not finished")
            }
        }
        return problems
    }

    private static func abbreviated(_ timestamps: [Int64]) -> String {
        timestamps.count <= 12
            ? "\(timestamps)"
            : "\(timestamps.prefix(6)) … \(timestamps.suffix(6)) (\(timestamps.count))"
    }
}
