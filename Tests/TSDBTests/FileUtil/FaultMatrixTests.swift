import Dispatch
import Foundation
import Synchronization
import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

#if canImport(Glibc)
import Glibc
#endif

/// ENOSPC, EIO, a short write, a failed fsync and a failed rename at every place the engine
/// writes, in turn. A first run of ``FaultWorkload`` records every (phase, operation, path)
/// site; then the workload runs once per site × fault, failing the first call there (and the last, in
/// the phases whose calls differ: commits, background fsyncs, closes, head cuts). Each run checks that
///
/// 1. the step meeting the fault throws (or, at the sites listed as best effort, goes on);
/// 2. a copy of the directory taken right after the fault (a crash then) opens with every
///    acknowledged sample, no sample of a failed commit and no deleted one;
/// 3. once the fault clears, the same database commits, compacts and closes, and a reopen
///    finds everything, with no leftovers of interrupted writes.
@Suite(.heavy) struct FaultMatrixTests {
    typealias Site = FaultySyscalls.Site

    /// What a fault at a site does to the step that meets it.
    enum Expectation: Sendable {
        /// The step throws.
        case fails
        /// The step goes on by design; the reason why.
        case absorbed(String)
    }

    // Every site the workload writes through is in `sites` (FaultMatrixSites.swift).

    struct Case: Sendable, CustomStringConvertible {
        var site: Site
        var fault: FaultySyscalls.Fault
        var nth: Int
        var of: Int
        var description: String { "\(fault) at call \(nth) of \(of) of \(site)" }
    }

    /// The sites of a clean run, with their call counts.
    static let recorded: Result<[Site: Int], TSDBError> = {
        do {
            let base = try TemporaryDirectory("fault-sites")
            defer { base.remove() }
            let faulty = FaultySyscalls()
            let data = base.path + "/data"
            faulty.reset(roots: [(data, ""), (base.path + "/snap", "snapshot:"), (base.path, "base:")])
            var db: DB?
            var model = FaultWorkload.Model()
            for step in FaultWorkload.steps {
                faulty.phase = step.phase
                do {
                    try FaultWorkload.perform(step, db: &db, model: &model, directory: data, snapshot: base.path + "/snap", sys: faulty.syscalls)
                } catch {
                    return .failure(TSDBError(.io, "clean run: \(step) failed: \(error)"))
                }
            }
            return .success(faulty.counts)
        } catch {
            return .failure(TSDBError(.io, "clean run: \(error)"))
        }
    }()

    static let repeatedPhases: Set<String> = ["commit", "background", "close", "compact (head cut)"]

    static var cases: [Case] {
        guard case .success(let counts) = recorded else { return [] }
        var cases: [Case] = []
        for (site, count) in counts.sorted(by: { $0.key < $1.key }) {
            for fault in FaultySyscalls.Fault.applicable(to: site.operation) {
                // The last call too where the phase's calls differ (later segments, a
                // reopened database, the WAL's background fsyncs).
                let nths = count > 1 && repeatedPhases.contains(site.phase) ? [1, count] : [1]
                for nth in nths { cases.append(Case(site: site, fault: fault, nth: nth, of: count)) }
            }
        }
        return cases
    }

    @Test func everyWriteSiteIsKnown() throws {
        let counts = try Self.recorded.get()
        let recorded = Set(counts.keys.map(\.description))
        for site in recorded.sorted() where Self.sites[site] == nil {
            Issue.record("new write site without a fault test: add \"\(site)\" to FaultMatrixTests.sites")
        }
        for site in Self.sites.keys.sorted() where !recorded.contains(site) {
            Issue.record("FaultMatrixTests.sites lists \"\(site)\", which the workload no longer reaches")
        }
        print("fault matrix: \(recorded.count) sites, \(Self.cases.count) cases")
        for s in counts.sorted(by: { $0.key < $1.key }) { print("  \(s.key) ×\(s.value)") }
    }

    @Test(.timeLimit(.minutes(20))) func faultAtEverySite() throws {
        _ = try Self.recorded.get()
        let cases = Self.cases
        let start = DispatchTime.now().uptimeNanoseconds
        let results = Mutex<[(Case, [String])]>([])
        DispatchQueue.concurrentPerform(iterations: cases.count) { i in
            let problems = Self.run(cases[i])
            results.withLock { $0.append((cases[i], problems)) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var failing = 0
        for (c, problems) in results.withLock({ $0 }).sorted(by: { $0.0.description < $1.0.description }) where !problems.isEmpty {
            failing += 1
            let text = "\(c):\n  " + problems.joined(separator: "\n  ")
            Issue.record("\(text)")
        }
        print("fault matrix: \(cases.count) cases in \(String(format: "%.1f", seconds)) s, \(failing) failing")
    }

    /// One case; returns what went wrong.
    static func run(_ c: Case) -> [String] {
        var problems: [String] = []
        do {
            let base = try TemporaryDirectory("fault-case")
            defer { base.remove() }
            let data = base.path + "/data"
            let snap = base.path + "/snap"
            let faulty = FaultySyscalls()
            faulty.reset(roots: [(data, ""), (snap, "snapshot:"), (base.path, "base:")])
            faulty.arm(c.site, c.fault, nth: c.nth)
            let sys = faulty.syscalls
            var db: DB?
            var model = FaultWorkload.Model()
            var failed: (step: FaultWorkload.Step, error: any Error)?
            for step in FaultWorkload.steps {
                faulty.phase = step.phase
                do {
                    try FaultWorkload.perform(step, db: &db, model: &model, directory: data, snapshot: snap, sys: sys)
                } catch {
                    failed = (step, error)
                    break
                }
            }
            faulty.disarm()
            guard faulty.fired != nil else {
                return ["the site was not reached" + (failed.map { " (\($0.step) failed: \($0.error))" } ?? "")]
            }
            let expectation = sites[c.site.description] ?? .fails
            switch (failed, expectation) {
            case (nil, .fails):
                problems.append("no step failed")
            case (let f?, _):
                if let e = f.error as? TSDBError, e.code != .io { problems.append("\(f.step) threw \(e.code), not .io: \(e)") }
                if case .absorbed = expectation { problems.append("\(f.step) threw at a best-effort site: \(f.error)") }
            default:
                break
            }

            // (2) A crash right after the fault.
            if FileManager.default.fileExists(atPath: data) {
                try FileManager.default.copyItem(atPath: data, toPath: base.path + "/crash")
                problems += reopened(base.path + "/crash", model: model).map { "after a crash at the fault: " + $0 }
            }

            // (3) The fault clears: the same database goes on.
            faulty.phase = "after the fault"
            do {
                if db == nil { db = try DB.open(directory: data, options: FaultWorkload.options(sys)) }
                for j in 1...3 { try FaultWorkload.perform(.commitNext(j), db: &db, model: &model, directory: data, snapshot: snap, sys: sys) }
                try db!.compact()
                // The round that succeeded left nothing behind: every block directory is
                // served, and nothing half-written or half-deleted remains.
                let served = Set(db!.blocks.map(\.ulid.description))
                var names: [String] = []
                _ = Syscalls.system.listDirectory(data, &names)
                var walNames: [String] = []
                _ = Syscalls.system.listDirectory(data + "/wal", &walNames)
                let stray = names.filter { ($0.count == 26 && ULID($0) != nil && !served.contains($0)) || $0.contains(".tmp-for-") }
                    + walNames.filter { $0.hasSuffix(".tmp") }
                if !stray.isEmpty { problems.append("left on disk after a successful round: \(stray.sorted())") }
                if case .snapshot? = failed?.step, FileManager.default.fileExists(atPath: snap) {
                    _ = try DB.openReadOnly(directory: snap, options: FaultWorkload.options(.system)).close()
                    try db!.snapshot(to: base.path + "/snap2", includeHead: true)
                }
                let d = db
                db = nil
                try d!.close()
            } catch {
                problems.append("after the fault cleared: \(error)")
                try? db?.close()
            }
            problems += reopened(data, model: model).map { "after the fault cleared and a restart: " + $0 }
            var names: [String] = []
            _ = Syscalls.system.listDirectory(data, &names)
            var walNames: [String] = []
            _ = Syscalls.system.listDirectory(data + "/wal", &walNames)
            let leftovers = names.filter { $0.contains(".tmp") } + walNames.filter { $0.hasSuffix(".tmp") }
            if !leftovers.isEmpty { problems.append("leftovers after a restart: \(leftovers)") }
        } catch {
            problems.append("harness: \(error)")
        }
        return problems
    }

    /// Opens `directory` with the real syscalls and checks it against `model`.
    static func reopened(_ directory: String, model: FaultWorkload.Model) -> [String] {
        do {
            let db = try DB.open(directory: directory, options: FaultWorkload.options(.system))
            defer { try? db.close() }
            var problems = model.problems(in: db)
            for w in db.blockWarnings where w.contains("overlap") { problems.append("block warning: \(w)") }
            return problems
        } catch {
            return ["open failed: \(error)"]
        }
    }
}
