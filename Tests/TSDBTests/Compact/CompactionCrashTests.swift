import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

#if canImport(Glibc)
import Glibc
#endif

/// `tsdb-bench compact-blocks` killed with SIGKILL at random moments while it compacts a
/// directory of blocks, then the directory reopened with ``DB/open(directory:options:)``:
/// - it opens, and no `.tmp-for-creation` or `.tmp-for-deletion` directory is left;
/// - every sample is there exactly once: each source block is in exactly one loaded block
///   (a parent and its child are never both kept), and a query returns the model;
/// - a compaction run again afterwards finishes and leaves the same samples.
///
/// The directory: ten 2 h blocks, one of them overlapping two others (a vertical compaction
/// first), one with tombstones. With Prometheus's ranges the child makes 3 compactions.
/// 32 kills by default; `TSDB_COMPACTION_CRASH_ITERATIONS` for more, `TSDB_TEST_SEED` to
/// replay the kill plans.
@Suite(.heavy) struct CompactionCrashTests {
    static let hour: Int64 = 3_600_000

    /// The template directory and the samples it holds.
    struct Template {
        let directory: TemporaryDirectory
        let model: [Labels: [Sample]]
        let sources: Set<ULID>
    }

    static func makeTemplate() throws -> Template {
        typealias F = CompactionFixture
        var rng = SeededRandom(seed: 42)
        let labels = F.labels(150, using: &rng)
        let dir = try TemporaryDirectory("tsdb-compaction-template")
        var parents: [CompactionFixture.Parent] = []
        for i in 0..<9 {
            var p = CompactionFixture.Parent(minTime: Int64(i) * 2 * hour, maxTime: Int64(i + 1) * 2 * hour)
            for l in labels {
                p.series[l] = stride(from: p.minTime, to: p.maxTime, by: 30_000).map { Sample(timestamp: $0, value: F.value(l, $0)) }
            }
            if i == 4 {
                for l in labels.prefix(30) { p.deleted[l] = [TombstoneInterval(minTime: p.minTime + 600_000, maxTime: p.minTime + 2_400_000)] }
            }
            parents.append(p)
        }
        // Overlaps blocks 0 and 1: the same samples every 30 s plus its own in between.
        var overlap = CompactionFixture.Parent(minTime: hour, maxTime: 3 * hour)
        for l in labels.prefix(60) {
            overlap.series[l] = stride(from: hour, to: 3 * hour, by: 15_000).map { Sample(timestamp: $0, value: F.value(l, $0)) }
        }
        parents.append(overlap)
        let metas = try parents.map { try F.write($0, to: dir.path) }
        return Template(directory: dir, model: F.model(parents), sources: Set(metas.map(\.ulid)))
    }

    enum Moment: CustomStringConvertible {
        /// This long after the start.
        case afterMilliseconds(Int)
        /// As soon as a `.tmp-for-creation` directory appears, plus a pause.
        case duringBlockWrite(pauseMicroseconds: UInt32)
        /// As soon as the child says a new block is in place and its parents are next.
        case afterPublish(step: Int)
        /// After the child reported step `n` done, plus a pause.
        case afterStep(Int, pauseMicroseconds: UInt32)

        var description: String {
            switch self {
            case .afterMilliseconds(let ms): "\(ms) ms after start"
            case .duringBlockWrite(let p): "\(p) µs after a .tmp-for-creation appeared"
            case .afterPublish(let s): "right after block \(s) was published"
            case .afterStep(let s, let p): "\(p) µs after step \(s)"
            }
        }
    }

    @Test func everySampleExactlyOnceAfterSIGKILLDuringCompaction() throws {
        let iterations = ProcessInfo.processInfo.environment["TSDB_COMPACTION_CRASH_ITERATIONS"].flatMap(Int.init) ?? 32
        var rng = SeededRandom.fromEnvironment()
        let bench = try Products.path("tsdb-bench")
        let template = try Self.makeTemplate()
        defer { template.directory.remove() }
        let started = Date()

        // A full run first: the steps it makes and how long it takes.
        let calibration = try TemporaryDirectory("tsdb-compaction-crash")
        try Self.copy(template.directory.path, to: calibration.path)
        let full = try Self.run(bench, directory: calibration.path, moment: nil)
        #expect(full.killed == false && full.steps == 3, "\(full.output)")
        #expect(Self.verify(calibration.path, template).isEmpty)
        let totalMs = max(1, Int(full.seconds * 1000))
        calibration.remove()

        var phases: [String: Int] = [:]
        for iteration in 0..<iterations {
            let moment: Moment = switch Int.random(in: 0..<8, using: &rng) {
            case 0, 1, 2: .afterMilliseconds(Int.random(in: 0...totalMs, using: &rng))
            case 3, 4: .duringBlockWrite(pauseMicroseconds: UInt32.random(in: 0...40_000, using: &rng))
            case 5, 6: .afterPublish(step: Int.random(in: 1...3, using: &rng))
            default: .afterStep(Int.random(in: 1...2, using: &rng), pauseMicroseconds: UInt32.random(in: 0...2_000, using: &rng))
            }
            let dir = try TemporaryDirectory("tsdb-compaction-crash")
            try Self.copy(template.directory.path, to: dir.path)
            let context = "TSDB_TEST_SEED=\(rng.seed), iteration \(iteration), kill \(moment), data in \(dir.path)"
            let run = try Self.run(bench, directory: dir.path, moment: moment)
            phases[Self.phase(of: dir.path, template), default: 0] += 1
            var problems = Self.verify(dir.path, template)
            // Resume: a new run finishes the work and the samples stay the same.
            if problems.isEmpty && iteration % 3 == 0 {
                let again = try Self.run(bench, directory: dir.path, moment: nil)
                if again.killed || again.status != 0 { problems.append("the compaction run after the kill failed: \(again.output)") }
                problems += Self.verify(dir.path, template).map { "after resuming: \($0)" }
            }
            if !problems.isEmpty {
                for p in problems { Issue.record("\(p)\n  (\(context); child output: \(run.output))") }
                return
            }
            dir.remove()
        }
        let summary = phases.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print("CompactionCrashTests (TSDB_TEST_SEED=\(rng.seed)): \(iterations) kills in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; a full run took \(totalMs) ms; killed with: \(summary)")
    }

    /// What the kill left, before reopening: for the summary.
    static func phase(of dir: String, _ template: Template) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        if names.contains(where: { $0.hasSuffix(".tmp-for-creation") }) { return "a block half-written" }
        if names.contains(where: { $0.hasSuffix(".tmp-for-deletion") }) { return "a parent half-deleted" }
        let metas = names.compactMap { ULID($0) }.compactMap { try? BlockMeta.read(blockDirectory: dir + "/" + $0.description, sys: .system) }
        let parents = Set(metas.flatMap { $0.compaction.parents.map(\.ulid) })
        if metas.contains(where: { parents.contains($0.ulid) }) { return "a child and its parents both present" }
        return metas.contains(where: { $0.compaction.level > 1 }) ? "compacted blocks, parents gone" : "nothing compacted yet"
    }

    /// Reopens `dir` and lists what breaks the invariants of the type's comment.
    static func verify(_ dir: String, _ template: Template) -> [String] {
        var options = Options()
        options.compactionEnabled = false
        let db: DB
        do { db = try DB.open(directory: dir, options: options) } catch { return ["DB.open failed: \(error)"] }
        defer { try? db.close() }
        var problems: [String] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        if let left = names.first(where: { $0.contains(".tmp-for-") }) { problems.append("\(left) left after open") }
        var seen: [ULID: Int] = [:]
        for meta in db.blocks {
            for s in meta.compaction.sources { seen[s, default: 0] += 1 }
        }
        for s in template.sources where seen[s] != 1 {
            problems.append("source block \(s) is in \(seen[s] ?? 0) loaded blocks, expected 1: \(db.blocks.map { "\($0.ulid) level \($0.compaction.level)" })")
        }
        for s in seen.keys where !template.sources.contains(s) { problems.append("unknown source \(s)") }
        do {
            var got: [Labels: [Sample]] = [:]
            for s in try db.querier(minTime: .min, maxTime: .max).select(CompactionFixture.all) { got[s.labels] = s.samples }
            if got != template.model {
                let wrong = template.model.keys.filter { got[$0] != template.model[$0] }.count + got.keys.filter { template.model[$0] == nil }.count
                problems.append("\(wrong) series differ from the model")
            }
        } catch {
            problems.append("query failed: \(error)")
        }
        return problems
    }

    static func copy(_ from: String, to: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: from) {
            try FileManager.default.copyItem(atPath: from + "/" + name, toPath: to + "/" + name)
        }
    }

    struct Run {
        var killed: Bool
        var status: Int32
        var steps: Int
        var seconds: Double
        var output: String
    }

    /// Runs `tsdb-bench compact-blocks` on `directory`, killing it at `moment` (nil: let it
    /// finish). Returns once it is dead.
    static func run(_ bench: String, directory: String, moment: Moment?) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bench)
        process.arguments = ["compact-blocks", directory]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let fd = pipe.fileHandleForReading.fileDescriptor
        let start = Date()
        try process.run()
        let pid = process.processIdentifier
        var output = ""
        var steps = 0
        var published = 0
        var killed = false
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)

        func kill(after pause: UInt32) {
            if pause > 0 { usleep(pause) }
            Glibc.kill(pid, SIGKILL)
            killed = true
        }
        reading: while true {
            if case .afterMilliseconds(let ms) = moment, Date().timeIntervalSince(start) * 1000 >= Double(ms) {
                kill(after: 0)
                break
            }
            if case .duringBlockWrite(let pause) = moment,
               ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).contains(where: { $0.hasSuffix(".tmp-for-creation") }) {
                kill(after: pause)
                break
            }
            if Date().timeIntervalSince(start) > 120 {
                kill(after: 0)
                output += "\n(the test killed it after 120 s)"
                break
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 1)
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }  // the child exited
            let text = String(decoding: buffer[..<n], as: UTF8.self)
            output += text
            for line in text.split(separator: "\n") {
                if line.contains("published ") { published += 1 }
                if line.contains(" step ") { steps += 1 }
                if case .afterPublish(let s) = moment, published == s, line.contains("published ") {
                    kill(after: 0)
                    break reading
                }
                if case .afterStep(let s, let pause) = moment, steps == s, line.contains(" step ") {
                    kill(after: pause)
                    break reading
                }
            }
        }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        try? pipe.fileHandleForReading.close()
        // A child that finished before the kill moment counts as not killed.
        let wasKilled = killed && process.terminationReason == .uncaughtSignal
        return Run(killed: wasKilled, status: process.terminationStatus, steps: steps, seconds: seconds, output: output)
    }
}
