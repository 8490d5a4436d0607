import Dispatch
import Foundation
import Synchronization
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Simulated power loss (``PowerLossSyscalls``: a file's bytes survive as of its last
/// fsync, a directory entry only once its directory was fsynced) at many moments of
/// ``FaultWorkload``: commits, segment cuts, checkpoints, head cuts, merges, deletions,
/// tombstone rewrites, snapshots and retention.
@Suite(.heavy) struct PowerLossTests {
    /// The workload under `sys` until the power goes off; returns the model of what was
    /// acknowledged, and the phase at each call number.
    static func run(_ data: String, snapshot: String, options: (Syscalls) -> Options, power: PowerLossSyscalls)
        -> (model: FaultWorkload.Model, phases: [(from: Int, phase: String)]) {
        var model = FaultWorkload.Model()
        model.failedMayBePresent = true
        var phases: [(from: Int, phase: String)] = []
        var db: DB?
        let sys = power.syscalls
        for step in FaultWorkload.steps {
            phases.append((power.calls + 1, step.phase))
            do {
                switch step {
                case .open: db = try DB.open(directory: data, options: options(sys))
                default: try FaultWorkload.perform(step, db: &db, model: &model, directory: data, snapshot: snapshot, sys: sys)
                }
            } catch {
                if power.isOff { break }
                Issue.record("\(step) failed with the power on: \(error)")
                break
            }
            if power.isOff { break }
        }
        try? db?.close()
        return (model, phases)
    }

    static func everyCommitOptions(_ sys: Syscalls) -> Options {
        var o = FaultWorkload.options(sys)
        o.walSyncMode = .everyCommit
        return o
    }

    /// The calls of a whole run, and at which call each phase starts.
    static let cleanRun: (calls: Int, phases: [(from: Int, phase: String)]) = {
        let base = try! TemporaryDirectory("power-clean")
        defer { base.remove() }
        let power = PowerLossSyscalls(root: base.path)
        let (_, phases) = run(base.path + "/data", snapshot: base.path + "/snap", options: everyCommitOptions, power: power)
        return (power.calls, phases)
    }()

    /// Cut points: 60 spread over the run, and every 4th call of the phases that write
    /// blocks, replace `meta.json` and `tombstones`, merge and delete.
    static var cutPoints: [Int] {
        let (calls, phases) = cleanRun
        var points = Set(stride(from: 1, through: calls, by: max(1, calls / 60)))
        for (i, p) in phases.enumerated() where p.phase.hasPrefix("compact (head cut, ") || p.phase == "delete" || p.phase == "clean tombstones" {
            let end = i + 1 < phases.count ? phases[i + 1].from : calls + 1
            points.formUnion(stride(from: p.from, to: end, by: 4))
        }
        return points.sorted()
    }

    /// `.everyCommit`: power lost at any of the cut points loses no acknowledged sample,
    /// brings back no deleted one, and leaves a directory that opens without repair.
    @Test(.timeLimit(.minutes(20))) func everyCommitLosesNothingAcknowledged() throws {
        let points = Self.cutPoints
        let start = DispatchTime.now().uptimeNanoseconds
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: points.count) { i in
            let n = points[i]
            do {
                let base = try TemporaryDirectory("power-loss")
                defer { base.remove() }
                let power = PowerLossSyscalls(root: base.path)
                let shadow = base.path + "/after-power-loss"
                power.cutPower(atCall: n, into: shadow)
                let (model, phases) = Self.run(base.path + "/data", snapshot: base.path + "/snap", options: Self.everyCommitOptions, power: power)
                let phase = phases.last { $0.from <= n }?.phase ?? "?"
                guard FileManager.default.fileExists(atPath: shadow + "/data") else {
                    if !model.acked.isEmpty { failures.withLock { $0.append("cut at call \(n) (\(phase)): the data directory is gone after \(model.acked.count) commits") } }
                    return
                }
                let problems = FaultMatrixTests.reopened(shadow + "/data", model: model)
                if !problems.isEmpty {
                    failures.withLock { $0.append("cut at call \(n) (\(phase)):\n  " + problems.joined(separator: "\n  ")) }
                }
            } catch {
                failures.withLock { $0.append("cut at call \(n): harness: \(error)") }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        for f in failures.withLock({ $0 }).sorted() { Issue.record("\(f)") }
        print("power loss, everyCommit: \(points.count) cut points of \(Self.cleanRun.calls) calls in \(String(format: "%.1f", seconds)) s, \(failures.withLock { $0.count }) failing")
    }

    /// The default `.onSegmentCut`: power lost in the middle of the log loses at most what
    /// was not in a finished, fsynced segment. Commits only, so no checkpoint moves data.
    @Test(arguments: [150, 400, 700]) func onSegmentCutKeepsEveryFsyncedSegment(_ cut: Int) throws {
        let base = try TemporaryDirectory("power-loss-cut")
        defer { base.remove() }
        let data = base.path + "/data"
        let power = PowerLossSyscalls(root: base.path)
        let shadow = base.path + "/after-power-loss"
        var options = FaultWorkload.options(power.syscalls)
        options.walSyncMode = .onSegmentCut
        var log = try CommitLog(seriesCount: 60, rng: SeededRandom(seed: UInt64(cut)))
        let db = try DB.open(directory: data, options: options)
        // Give the background fsyncs of finished segments time to run, as a real
        // workload does between segments.
        for k in 1...cut {
            #expect(log.commit(k, to: db) == nil)
            if k % 50 == 0 { usleep(20_000) }
        }
        let at = db.wal!.position
        try power.losePower(into: shadow)
        let synced = power.syncedSizes
        try? db.close()
        let reopened = try DB.open(directory: shadow + "/data", options: FaultWorkload.options(.system))
        defer { try? reopened.close() }
        let present = Set(try log.committed(in: reopened))
        var mustSurvive = 0
        for k in 1...cut {
            let span = try #require(log.spans[k])
            let path = WALTest.segmentPath(data + "/wal", span.end.segment)
            // A commit in a finished segment whose fsync completed must be there.
            guard span.end.segment < at.segment, let size = synced[path], size >= span.end.offset else { continue }
            mustSurvive += 1
            #expect(present.contains(k), "commit \(k) (segment \(span.end.segment), fsynced) is lost")
        }
        #expect(present.filter { $0 < 0 }.isEmpty, "no commit is there in part")
        #expect(mustSurvive > 0, "the test reached a fsynced segment")
        print("power loss, onSegmentCut, \(cut) commits: writing segment \(at.segment), \(mustSurvive) commits in fsynced segments, \(present.count) survived")
    }
}
