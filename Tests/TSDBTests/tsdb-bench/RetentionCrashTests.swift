import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Kill -9 at random moments of a maintenance round that merges blocks and deletes the
/// oldest ones for size and time retention (`tsdb-bench compact` as the child). After every
/// kill the directory opens; no two blocks overlap (so no sample is stored twice); and the
/// data left is whole 2 h windows forming a suffix of the original: retention took from the
/// oldest end, nothing else went missing.
@Suite(.heavy, .serialized) struct RetentionCrashTests {
    static let hour: Int64 = 3_600_000
    static let windows = 24

    static var iterations: Int {
        ProcessInfo.processInfo.environment["TSDB_CRASH_ITERATIONS"].flatMap(Int.init).map { max(30, $0 / 2) } ?? 30
    }

    @Test func killDuringCompactionAndRetention() throws {
        let bench = try Products.path("tsdb-bench")
        let root = try TemporaryDirectory("retention-crash")
        defer { root.remove() }
        let template = root.path + "/template"
        var model: [Labels: [Sample]] = [:]
        try MaintenanceTests.writeBlocks(template, count: Self.windows, model: &model)
        let limit = DiskUsage.bytes(under: template, sys: .system) * 6 / 10
        let arguments = ["--retention-size", "\(limit)", "--retention-duration", "\(40 * Self.hour)",
                         "--max-block-duration", "\(18 * Self.hour)"]

        // How long an uninterrupted round takes, to spread the kills over it.
        let probe = root.path + "/probe"
        try FileManager.default.copyItem(atPath: template, toPath: probe)
        let started = DispatchTime.now().uptimeNanoseconds
        try Command.run(bench, ["compact", probe] + arguments)
        let roundMicros = max(20_000, Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000))
        try Self.verify(probe, model: model, context: "uninterrupted")

        var rng = SeededRandom.fromEnvironment()
        var killedMidway = 0
        for i in 0..<Self.iterations {
            let dir = root.path + "/run-\(i)"
            try FileManager.default.copyItem(atPath: template, toPath: dir)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: bench)
            process.arguments = ["compact", dir] + arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(Int(rng.next() % UInt64(roundMicros))))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { killedMidway += 1 }
            try Self.verify(dir, model: model, context: "seed \(rng.seed) kill \(i)")
            try? FileManager.default.removeItem(atPath: dir)
        }
        #expect(killedMidway >= Self.iterations / 2, "most kills should land before the round ends (\(killedMidway) of \(Self.iterations))")
    }

    /// Opens `dir` and checks the invariants in the suite's description.
    static func verify(_ dir: String, model: [Labels: [Sample]], context: String) throws {
        var options = Options()
        options.compactionEnabled = false
        let db: DB
        do {
            db = try DB.open(directory: dir, options: options)
        } catch {
            Issue.record("\(context): the directory does not open: \(error)")
            return
        }
        defer { try? db.close() }
        let metas = db.blocks
        for (a, b) in zip(metas, metas.dropFirst()) where a.maxTime > b.minTime {
            Issue.record("\(context): blocks \(a.ulid) and \(b.ulid) overlap")
        }
        let got = try db.querier(minTime: .min, maxTime: .max).select("m")
        let stored = metas.reduce(UInt64(0)) { $0 + $1.stats.numSamples }
        let returned = got.reduce(0) { $0 + $1.samples.count }
        #expect(stored == UInt64(returned), "\(context): blocks store \(stored) samples, queries return \(returned)")
        // Which 2 h windows are whole, and none partial.
        var present = Set<Int64>()
        for s in got {
            let expected = model[s.labels] ?? []
            let byWindow = Dictionary(grouping: s.samples) { $0.timestamp / (2 * hour) }
            for (w, samples) in byWindow {
                let want = expected.filter { $0.timestamp / (2 * hour) == w }
                if samples != want { Issue.record("\(context): window \(w) of \(s.labels) holds \(samples.count) of \(want.count) samples") }
                present.insert(w)
            }
        }
        guard let oldest = present.min() else {
            Issue.record("\(context): every block is gone")
            return
        }
        let expectedWindows = Set(oldest..<Int64(windows))
        #expect(present == expectedWindows, "\(context): windows \(present.sorted()) are not the newest ones from \(oldest)")
        #expect(got.count == model.count, "\(context): \(got.count) series of \(model.count)")
    }
}
