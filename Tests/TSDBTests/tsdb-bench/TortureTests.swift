import Foundation
import Testing
import TortureWorkload
import TSDB
import TSDBTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tsdb-bench torture` killed with SIGKILL 20–300 ms after each start, over and over on the
/// same directory (and now and then a fresh one), while it appends multi-series
/// transactions, deletes, compacts (head cuts, merges, time retention), snapshots and
/// cleans tombstones. The workload is a function of its seed (``TortureWorkload``), so the
/// test rebuilds which samples every acknowledged operation wrote or deleted. After each kill:
/// - the directory opens read-only; then either the next child opens it as the kill left it,
///   or (half the kills, at random) this process opens it with `DB.open`, checks it again,
///   closes it, and `tsdb-inspect verify DIR` must pass (verify counts a torn WAL or head
///   chunk tail as a problem, and a kill may leave one, which open cuts);
/// - every acknowledged sample is there, unless an acknowledged delete covered it or
///   retention took it: samples missing must all be older than every sample present and
///   than the retention horizon (the newest sample possible minus the retention);
/// - nothing is there that no acknowledged operation wrote (or that a delete removed), each
///   value is right, and no timestamp appears twice in a series;
/// - the operation in flight is all or nothing if it is a transaction; if it is a delete,
///   each sample it covers may be there or not;
/// - an acknowledged snapshot opens, verifies and holds only the right samples (with the
///   head: exactly the data of the moment); one in flight leaves at most a leftover that
///   opening removes.
/// The next child starts at the operation in flight (transactions and deletes are
/// idempotent), so state accumulates across kills.
///
/// 100 kills by default; `TSDB_CRASH_KILLS=10000` for the long run, `TSDB_TEST_SEED` to
/// replay the same seeds and kill delays (the moments themselves depend on scheduling),
/// `TSDB_TORTURE_PRODUCTS=.build/release` to kill release builds of the tools.
@Suite(.heavy) struct TortureTests {
    static var kills: Int { ProcessInfo.processInfo.environment["TSDB_CRASH_KILLS"].flatMap(Int.init) ?? 100 }

    static func product(_ name: String) throws -> String {
        if let dir = ProcessInfo.processInfo.environment["TSDB_TORTURE_PRODUCTS"] {
            return URL(fileURLWithPath: dir).appendingPathComponent(name).path
        }
        return try Products.path(name)
    }

    @Test func everyAcknowledgedOperationSurvivesSIGKILL() throws {
        let bench = try Self.product("tsdb-bench")
        let inspect = try Self.product("tsdb-inspect")
        var rng = SeededRandom.fromEnvironment()
        let root = try TemporaryDirectory("torture")
        let data = root.path + "/data"
        let snapshots = root.path + "/snapshots"
        try FileManager.default.createDirectory(atPath: snapshots, withIntermediateDirectories: true)
        let started = Date()
        var totals = Totals()
        var lineage: Lineage?

        for kill in 0..<Self.kills {
            if lineage == nil || rng.next() % 40 == 0 {
                try? FileManager.default.removeItem(atPath: data)
                lineage = Lineage(seed: rng.next() % 1_000_000)
                totals.fresh += 1
            }
            var state = lineage!
            let delay = Int(20 + rng.next() % 281)
            // A third of the kills follow an acknowledgement closely, so that they land in
            // the middle of transactions (the slow operations take most of the time otherwise).
            let afterAcks = rng.next() % 3 == 0 ? (acks: Int(1 + rng.next() % 30), pauseMicroseconds: UInt32(rng.next() % 2_000)) : nil
            let when = afterAcks.map { "kill \($0.pauseMicroseconds) µs after ack #\($0.acks) or \(delay) ms" } ?? "kill after \(delay) ms"
            let context = "TSDB_TEST_SEED=\(rng.seed), kill \(kill), workload seed \(state.workload.seed), first op \(state.next), \(when), data in \(data)"
            let run = try Self.runAndKill(bench, data: data, snapshots: snapshots, seed: state.workload.seed, firstOp: state.next,
                                          delayMilliseconds: delay, afterAcks: afterAcks, stderrPath: root.path + "/stderr.txt")
            var problems = run.problems
            if problems.isEmpty {
                problems = state.absorb(run, data: data, snapshots: snapshots, inspect: inspect, reopen: rng.next() % 2 == 0 || kill == Self.kills - 1,
                                        totals: &totals)
            }
            if !problems.isEmpty {
                for p in problems { Issue.record("\(p)\n  (\(context))") }
                return  // the directory stays for a look
            }
            totals.acknowledged += run.acknowledged.count
            if run.opened { totals.opened += 1 }
            lineage = state
            if (kill + 1) % 1_000 == 0 {
                print("TortureTests: \(kill + 1) kills, 0 failures, \(String(format: "%.0f", Date().timeIntervalSince(started))) s")
            }
        }
        root.remove()
        print("TortureTests (TSDB_TEST_SEED=\(rng.seed)): \(Self.kills) kills, 0 failures, in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; \(totals)")
    }

    /// The check itself catches what it is there for, on directories written in-process.
    @Test func theCheckCatchesLostHalfAndDuplicatedData() throws {
        let workload = TortureWorkload(seed: 11)
        let appends = (0..<40).filter { if case .append = workload.operation($0) { true } else { false } }
        try #require(appends.count > 3)
        /// Runs the appends and deletes of operations before `end` in-process, leaving out one sample.
        func write(_ dir: String, upTo end: Int, skipping: (id: Int, timestamp: Int64)? = nil, extra: (id: Int, timestamp: Int64)? = nil) throws {
            var o = workload.options()
            o.compactionEnabled = false
            let db = try DB.open(directory: dir, options: o)
            for k in 0..<end {
                switch workload.operation(k) {
                case .append(let series):
                    var app = try db.appender()
                    for s in series {
                        for t in s.timestamps where !(skipping?.id == s.id && skipping?.timestamp == t) {
                            try app.append(TortureWorkload.labels(id: s.id), timestamp: t, value: TortureWorkload.value(id: s.id, timestamp: t))
                        }
                    }
                    try app.commit()
                case .delete(let target, let minTime, let maxTime):
                    try db.delete(target.selector, minTime: minTime, maxTime: maxTime)
                default: break
                }
            }
            if let extra {
                var app = try db.appender()
                try app.append(TortureWorkload.labels(id: extra.id), timestamp: extra.timestamp, value: 1)
                try app.commit()
            }
            try db.close()
        }
        let end = appends.last! + 1
        var state = Lineage(seed: workload.seed)
        state.apply(upTo: end)
        guard case .append(let last) = workload.operation(appends.last!), case .append(let middle) = workload.operation(appends[1]) else {
            Issue.record("not appends")
            return
        }
        try TemporaryDirectory.with { dir in
            var totals = Totals()
            try write(dir + "/whole", upTo: end)
            #expect(state.check(try Self.openReadOnly(dir + "/whole"), inFlight: nil, totals: &totals) == [])

            try write(dir + "/lost", upTo: end, skipping: (middle[0].id, middle[0].timestamps[0]))
            let lost = state.check(try Self.openReadOnly(dir + "/lost"), inFlight: nil, totals: &totals).joined(separator: "\n")
            #expect(lost.contains("lost"), "\(lost)")

            try write(dir + "/extra", upTo: end, extra: (last[0].id, last[0].timestamps.last! + 1))
            let extra = state.check(try Self.openReadOnly(dir + "/extra"), inFlight: nil, totals: &totals).joined(separator: "\n")
            #expect(extra.contains("no acknowledged operation wrote"), "\(extra)")

            // The last transaction in flight, written but for one sample: half there.
            var before = Lineage(seed: workload.seed)
            before.apply(upTo: appends.last!)
            try write(dir + "/half", upTo: end, skipping: (last[0].id, last[0].timestamps[0]))
            let half = before.check(try Self.openReadOnly(dir + "/half"), inFlight: workload.operation(appends.last!), totals: &totals).joined(separator: "\n")
            #expect(half.contains("half"), "\(half)")
            #expect(before.check(try Self.openReadOnly(dir + "/whole"), inFlight: workload.operation(appends.last!), totals: &totals) == [])
            try write(dir + "/none", upTo: appends.last!)
            #expect(before.check(try Self.openReadOnly(dir + "/none"), inFlight: workload.operation(appends.last!), totals: &totals) == [])
        }
    }

    static func openReadOnly(_ dir: String) throws -> DB {
        try DB.openReadOnly(directory: dir, options: TortureWorkload(seed: 0).options())
    }

    struct Totals: CustomStringConvertible {
        var acknowledged = 0
        var opened = 0
        var fresh = 0
        var snapshotsChecked = 0
        var snapshotsInFlight = 0
        var inFlightTransactionsPresent = 0
        var inFlightTransactionsAbsent = 0
        var inFlightDeletes = 0
        var reopened = 0
        var maxBlocks = 0
        var maxOperation = 0
        var samplesChecked = 0

        var description: String {
            "\(acknowledged) operations acknowledged (up to op \(maxOperation) in one directory), \(fresh) fresh directories, "
                + "children opened the DB \(opened) times, \(reopened) DB.open checks, up to \(maxBlocks) blocks, "
                + "\(snapshotsChecked) snapshots checked (\(snapshotsInFlight) in flight), in-flight transactions present \(inFlightTransactionsPresent) "
                + "/ absent \(inFlightTransactionsAbsent), \(inFlightDeletes) deletes in flight, \(samplesChecked) samples compared"
        }
    }

    // MARK: - The model

    /// One directory's history: the workload, the first operation not acknowledged yet, and
    /// the samples the acknowledged operations left (by series id, timestamp → value).
    struct Lineage {
        let workload: TortureWorkload
        var next = 0
        var model: [Int: [Int64: Double]] = [:]
        /// Samples older than this are gone for good (retention took them): one present is a resurrection.
        var floor: Int64 = .min

        init(seed: UInt64) { workload = TortureWorkload(seed: seed) }

        /// Applies acknowledged operations up to (not including) `end`.
        mutating func apply(upTo end: Int) {
            while next < end {
                apply(workload.operation(next))
                next += 1
            }
        }

        mutating func apply(_ op: TortureWorkload.Operation) {
            switch op {
            case .append(let series):
                for s in series {
                    for t in s.timestamps where t >= floor { model[s.id, default: [:]][t] = TortureWorkload.value(id: s.id, timestamp: t) }
                }
            case .delete(let target, let minTime, let maxTime):
                for id in model.keys where target.matches(id) {
                    model[id] = model[id]!.filter { !($0.key >= minTime && $0.key <= maxTime) }
                    if model[id]!.isEmpty { model[id] = nil }
                }
            case .compact, .snapshot, .cleanTombstones:
                break
            }
        }

        /// Checks what the child left after being killed, and moves the model on.
        mutating func absorb(_ run: ChildRun, data: String, snapshots: String, inspect: String, reopen: Bool, totals: inout Totals) -> [String] {
            var problems: [String] = []
            for (i, k) in run.acknowledged.enumerated() where k != next + i {
                return ["the child acknowledged op \(k) where op \(next + i) was due: \(run.acknowledged.prefix(20))"]
            }
            // Acknowledged operations in order; a snapshot is checked against the model of its moment.
            for k in run.acknowledged {
                let op = workload.operation(k)
                if case .snapshot(let includeHead) = op {
                    let path = TortureWorkload.snapshotPath(snapshots, operation: k, pid: run.pid)
                    problems += checkSnapshot(path, inspect: inspect, includeHead: includeHead, operation: k, inFlight: false).map { "acknowledged snapshot of op \(k): \($0)" }
                    totals.snapshotsChecked += 1
                    try? FileManager.default.removeItem(atPath: path)
                }
                apply(op)
                next = k + 1
            }
            var inFlight: TortureWorkload.Operation? = workload.operation(next)
            if case .snapshot? = inFlight {
                let path = TortureWorkload.snapshotPath(snapshots, operation: next, pid: run.pid)
                if FileManager.default.fileExists(atPath: path) {
                    problems += checkSnapshot(path, inspect: inspect, includeHead: false, operation: next, inFlight: true).map { "snapshot in flight (op \(next)): \($0)" }
                    totals.snapshotsInFlight += 1
                    try? FileManager.default.removeItem(atPath: path)
                }
            }
            if case .delete? = inFlight { totals.inFlightDeletes += 1 }
            totals.maxOperation = max(totals.maxOperation, next)

            // Killed before it created the directory: nothing can have been written.
            if next == 0 && !FileManager.default.fileExists(atPath: data) { return problems }
            do {
                let db = try DB.openReadOnly(directory: data, options: workload.options())
                defer { try? db.close() }
                totals.maxBlocks = max(totals.maxBlocks, db.blocks.count)
                var whole = false
                let found = check(db, inFlight: inFlight, totals: &totals, inFlightWhole: &whole)
                problems += found
                if found.isEmpty {
                    prune(db)
                    // The transaction in flight is in the log whole: it stays, like an
                    // acknowledged one. (Running it again would not do: its older samples
                    // would be out of order behind its newest.)
                    if whole {
                        apply(inFlight!)
                        next += 1
                        inFlight = nil
                    }
                }
            } catch {
                problems.append("the directory does not open read-only: \(error)")
            }
            // Half the time the next child opens what the kill left; otherwise this process
            // does, as the child would (cutting torn tails, removing leftovers), and then
            // `tsdb-inspect verify` must find nothing wrong. (Verify reports a torn WAL or
            // head chunk tail, which a kill can leave and open cuts, as a problem.)
            if reopen && problems.isEmpty {
                totals.reopened += 1
                var o = workload.options()
                o.compactionEnabled = false
                do {
                    let db = try DB.open(directory: data, options: o)
                    var again = Totals()
                    problems += check(db, inFlight: inFlight, totals: &again).map { "after DB.open: \($0)" }
                    totals.samplesChecked += again.samplesChecked
                    try db.close()
                } catch {
                    problems.append("DB.open fails: \(error)")
                }
                if let verify = Self.verify(inspect, data) { problems.append(verify) }
            }
            return problems
        }

        /// Forgets samples older than the oldest present: retention took them for good.
        private mutating func prune(_ db: DB) {
            guard let series = try? db.querier(minTime: .min, maxTime: .max).select(TortureWorkload.metricName) else { return }
            let oldest = series.compactMap { $0.samples.first?.timestamp }.min()
            guard let oldest, oldest > floor else { return }
            floor = oldest
            for id in model.keys {
                model[id] = model[id]!.filter { $0.key >= oldest }
                if model[id]!.isEmpty { model[id] = nil }
            }
        }

        /// An acknowledged snapshot: it verifies, opens and holds only what the model holds
        /// (with the head: exactly what it holds, but what retention may have taken). One
        /// in flight: it opens (removing any leftover), then verifies.
        func checkSnapshot(_ path: String, inspect: String, includeHead: Bool, operation k: Int, inFlight: Bool) -> [String] {
            var problems: [String] = []
            if !inFlight {
                let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.contains(".tmp") }
                if !leftovers.isEmpty { problems.append("leftovers in an acknowledged snapshot: \(leftovers)") }
            }
            var o = workload.options()
            o.compactionEnabled = false
            do {
                let db = try DB.open(directory: path, options: o)
                defer { try? db.close() }
                let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.contains(".tmp") }
                if !leftovers.isEmpty { problems.append("leftovers after DB.open: \(leftovers)") }
                var totals = Totals()
                problems += check(db, inFlight: nil, totals: &totals, horizonOperation: k, complete: includeHead && !inFlight)
            } catch {
                problems.append("does not open: \(error)")
            }
            if let v = Self.verify(inspect, path) { problems.append(v) }
            return problems
        }

        /// Compares `db` with the model, allowing for the operation in flight. With
        /// `complete` false only extra, wrong and duplicated samples count (a snapshot without
        /// its head).
        func check(_ db: DB, inFlight: TortureWorkload.Operation?, totals: inout Totals, horizonOperation: Int? = nil, complete: Bool = true) -> [String] {
            var whole = false
            return check(db, inFlight: inFlight, totals: &totals, inFlightWhole: &whole, horizonOperation: horizonOperation, complete: complete)
        }

        /// ``check(_:inFlight:totals:horizonOperation:complete:)``, also saying whether the
        /// transaction in flight is there (whole).
        func check(_ db: DB, inFlight: TortureWorkload.Operation?, totals: inout Totals, inFlightWhole: inout Bool,
                   horizonOperation: Int? = nil, complete: Bool = true) -> [String] {
            var problems: [String] = []
            func note(_ p: String) { if problems.count < 12 { problems.append(p) } }
            let metas = db.blocks.sorted { $0.minTime < $1.minTime }
            for (a, b) in zip(metas, metas.dropFirst()) where a.maxTime > b.minTime {
                note("blocks \(a.ulid) [\(a.minTime), \(a.maxTime)) and \(b.ulid) [\(b.minTime), \(b.maxTime)) overlap")
            }
            var pending: [Int: [Int64: Double]] = [:]  // the transaction in flight
            var mayBeDeleted: [Int: ClosedRange<Int64>] = [:]
            switch inFlight {
            case .append(let series)?:
                for s in series { for t in s.timestamps { pending[s.id, default: [:]][t] = TortureWorkload.value(id: s.id, timestamp: t) } }
            case .delete(let target, let minTime, let maxTime)?:
                for id in model.keys where target.matches(id) { mayBeDeleted[id] = minTime...maxTime }
            default: break
            }
            let series: [Series]
            do {
                series = try db.querier(minTime: .min, maxTime: .max).select(#"{__name__=~".+"}"#)
            } catch {
                return ["querying fails: \(error)"]
            }
            var present: [Int: Set<Int64>] = [:]
            var pendingPresent = 0
            var oldestPresent = Int64.max
            for s in series {
                guard let id = TortureWorkload.id(of: s.labels) else {
                    note("series \(s.labels) was never written")
                    continue
                }
                var previous = Int64.min
                var it = s.makeIterator()
                while let sample = it.next() {
                    totals.samplesChecked += 1
                    let t = sample.timestamp
                    if t <= previous { note("series \(id): timestamp \(t) after \(previous) (duplicated or out of order)") }
                    previous = t
                    if let v = model[id]?[t] {
                        if v != sample.value { note("series \(id) @ \(t): value \(sample.value), expected \(v)") }
                    } else if let v = pending[id]?[t] {
                        if v != sample.value { note("series \(id) @ \(t): value \(sample.value), expected \(v) (op in flight)") }
                        pendingPresent += 1
                    } else {
                        note("series \(id) @ \(t) = \(sample.value): no acknowledged operation wrote it, or a delete removed it\(t < floor ? ", or retention did before" : "")")
                        continue
                    }
                    present[id, default: []].insert(t)
                    oldestPresent = min(oldestPresent, t)
                }
                if let error = it.error { note("series \(id): chunk damaged: \(error)") }
            }
            let pendingCount = pending.values.reduce(0) { $0 + $1.count }
            if pendingPresent != 0 && pendingPresent != pendingCount {
                note("half a transaction: \(pendingPresent) of the \(pendingCount) samples of the transaction in flight are there")
            }
            if case .append? = inFlight {
                if pendingPresent == 0 { totals.inFlightTransactionsAbsent += 1 } else if pendingPresent == pendingCount { totals.inFlightTransactionsPresent += 1 }
                inFlightWhole = pendingCount > 0 && pendingPresent == pendingCount
            }
            guard complete else { return problems }
            // Missing samples: only retention may take them, from the oldest end.
            let k = horizonOperation ?? next
            let horizon = TortureWorkload.time(ofOperation: k) + 999 - TortureWorkload.retentionDuration
            var lost: [String] = []
            for (id, samples) in model {
                let here = present[id] ?? []
                for t in samples.keys where !here.contains(t) {
                    if let r = mayBeDeleted[id], r.contains(t) { continue }
                    if t >= horizon || t >= oldestPresent { lost.append("\(id)@\(t)") }
                }
            }
            if !lost.isEmpty {
                note("\(lost.count) acknowledged samples lost (newer than the retention horizon \(horizon) or than the oldest sample present \(oldestPresent)): \(lost.sorted().prefix(10))")
            }
            return problems
        }

        /// Runs `tsdb-inspect verify`; a problem line, or nil when it passes.
        static func verify(_ inspect: String, _ dir: String) -> String? {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: inspect)
            p.arguments = ["verify", dir]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            p.standardInput = FileHandle.nullDevice
            do { try p.run() } catch { return "cannot run tsdb-inspect: \(error)" }
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return p.terminationStatus == 0 ? nil : "tsdb-inspect verify \(dir) exits \(p.terminationStatus): \(text.prefix(2_000))"
        }
    }

    // MARK: - The child

    struct ChildRun {
        var pid: Int32 = 0
        var opened = false
        var acknowledged: [Int] = []
        var problems: [String] = []
    }

    /// Starts `tsdb-bench torture`, kills it `delayMilliseconds` after the start (or the
    /// pause after the `afterAcks.acks`-th acknowledgement, if sooner) and returns what it
    /// reported before dying.
    static func runAndKill(_ bench: String, data: String, snapshots: String, seed: UInt64, firstOp: Int, delayMilliseconds: Int,
                           afterAcks: (acks: Int, pauseMicroseconds: UInt32)?, stderrPath: String) throws -> ChildRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bench)
        process.arguments = ["torture", "--dir", data, "--snapshots", snapshots, "--seed", "\(seed)", "--first-op", "\(firstOp)"]
        guard FileManager.default.createFile(atPath: stderrPath, contents: nil) else {
            throw CommandFailure(description: "cannot create \(stderrPath)")
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        let fd = pipe.fileHandleForReading.fileDescriptor
        var run = ChildRun()
        var pending: [UInt8] = []
        func consume(_ bytes: [UInt8]) {
            pending += bytes
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                if line == "opened" {
                    run.opened = true
                } else if line.hasPrefix("ack "), let k = Int(line.dropFirst(4)) {
                    run.acknowledged.append(k)
                } else {
                    run.problems.append("tsdb-bench torture printed: \(line)")
                }
            }
        }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(delayMilliseconds) * 1_000_000
        try process.run()
        run.pid = process.processIdentifier
        var ended = false
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { break }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, (deadline - now) / 1_000_000)))
            if ready < 0 { if errno == EINTR { continue }; break }
            if ready == 0 { continue }
            guard let chunk = readAvailable(fd) else { ended = true; break }
            consume(chunk)
            if let afterAcks, run.acknowledged.count >= afterAcks.acks {
                if afterAcks.pauseMicroseconds > 0 { usleep(afterAcks.pauseMicroseconds) }
                break
            }
        }
        kill(run.pid, SIGKILL)
        process.waitUntilExit()
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        while let chunk = readAvailable(fd) { consume(chunk) }
        try? pipe.fileHandleForReading.close()
        if ended || process.terminationReason != .uncaughtSignal || process.terminationStatus != SIGKILL {
            let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            run.problems.append("tsdb-bench torture ended on its own (reason \(process.terminationReason.rawValue), status \(process.terminationStatus)) after \(run.acknowledged.count) acknowledged operations; stderr: \(stderr.prefix(4_000))")
        }
        return run
    }

}
