import Dispatch
import Foundation
import Synchronization
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Failed writes and fsyncs injected through `Options.syscalls` (FORMAT.md §6.7): the
/// failing commit throws `.io` and is absent after a restart, every other commit is
/// present (Prometheus issue 13027: a torn record must not cost later good commits).
@Suite(.heavy) struct WALFaultTests {
    static func options(_ faults: FaultInjector, compression: WALCompression = .snappy, sync: WALSyncMode = .onSegmentCut) -> Options {
        var options = Options()
        options.syscalls = faults.syscalls
        options.walCompression = compression
        options.walSyncMode = sync
        return options
    }

    enum Fault: String, CaseIterable, Sendable {
        /// ENOSPC on the first write of the commit.
        case noSpace
        /// ENOSPC on the second write of a commit that spans pages: one page is on disk.
        case noSpaceAfterOnePage
        /// Half the bytes written, then ENOSPC.
        case shortWrite
    }

    /// Commits 1–4, a failing commit 5, commits 6–9; then restart. With `truncateFails`
    /// the failed commit's bytes cannot be cut away and stay as a torn tail of the segment.
    @Test(arguments: Fault.allCases, [false, true])
    func failedWriteLosesOnlyTheFailedCommit(fault: Fault, truncateFails: Bool) throws {
        let faults = FaultInjector()
        try TemporaryDirectory.with { dir in
            let big = fault == .noSpaceAfterOnePage
            // 4000 uncompressed samples are ~40 KB: the commit spans two pages.
            var log = try CommitLog(seriesCount: big ? 4000 : 3, rng: SeededRandom(seed: 21))
            let db = try DB.open(directory: dir, options: Self.options(faults, compression: big ? .none : .snappy))
            for k in 1...4 { #expect(log.commit(k, to: db) == nil) }
            let before = db.wal!.position
            switch fault {
            case .noSpace: faults.failWrite(1, .noSpace)
            case .noSpaceAfterOnePage: faults.failWrite(2, .noSpace)
            case .shortWrite: faults.shortWriteThenNoSpace()
            }
            faults.failTruncate(truncateFails)
            let failure = log.commit(5, to: db)
            let error = try #require(failure)
            #expect(error.code == .io)
            #expect((error.cause as? Errno)?.code == ENOSPC)
            faults.failTruncate(false)
            #expect(try log.committed(in: db) == [1, 2, 3, 4], "rolled back in memory")
            #expect(db.wal!.segmentIndex == before.segment + 1, "writing continues in a new segment")
            for k in 6...9 { #expect(log.commit(k, to: db) == nil) }
            #expect(try log.committed(in: db) == [1, 2, 3, 4, 6, 7, 8, 9])
            try db.close()

            let segment0 = try TestFiles.read(WALTest.segmentPath(dir + "/wal", 0))
            if truncateFails && fault != .noSpace {
                #expect(segment0.count > before.offset, "the torn record stayed")
            } else {
                #expect(segment0.count == before.offset, "cut back to where commit 5 began")
            }

            let reopened = try DB.open(directory: dir)
            #expect(try log.committed(in: reopened) == [1, 2, 3, 4, 6, 7, 8, 9])
            if truncateFails && fault != .noSpace {
                #expect(reopened.replayStats.notes.joined().contains("00000000"), "the torn tail was cut: \(reopened.replayStats.notes)")
            }
            try reopened.close()
        }
    }

    @Test func failedCommitOfANewSeriesDoesNotLoseLaterSamplesOfIt() throws {
        let faults = FaultInjector()
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options(faults))
            let labels = try Labels(["__name__": "m", "i": "new"])
            faults.failWrite(1, .noSpace)
            var app = try db.appender()
            let ref = try app.append(labels, timestamp: 1000, value: 1)
            do throws(TSDBError) {
                try app.commit()
                Issue.record("the commit should fail")
            } catch {
                #expect(error.code == .io)
            }
            // The series exists in the head; its series record did not reach the log.
            var again = try db.appender()
            try again.append(ref, timestamp: 2000, value: 2)
            try again.commit()
            try db.close()
            let reopened = try DB.open(directory: dir)
            let series = try reopened.querier(minTime: .min, maxTime: .max).select("m")
            #expect(series.map(\.labels) == [labels])
            #expect(series.first?.samples.map(\.timestamp) == [2000])
            #expect(reopened.replayStats.unknownRefs == 0)
            try reopened.close()
        }
    }

    @Test func failedFsyncFailsTheCommitWithEveryCommit() throws {
        let faults = FaultInjector()
        try TemporaryDirectory.with { dir in
            var log = try CommitLog(seriesCount: 3, rng: SeededRandom(seed: 22))
            let db = try DB.open(directory: dir, options: Self.options(faults, sync: .everyCommit))
            for k in 1...3 { #expect(log.commit(k, to: db) == nil) }
            let fsyncsBefore = faults.fsyncs
            faults.failFsyncs(1)
            let failure = log.commit(4, to: db)
            let error = try #require(failure)
            #expect(error.code == .io)
            #expect((error.cause as? Errno)?.code == EIO)
            #expect(faults.fsyncs > fsyncsBefore)
            #expect(try log.committed(in: db) == [1, 2, 3])
            for k in 5...7 { #expect(log.commit(k, to: db) == nil) }
            try db.close()
            let reopened = try DB.open(directory: dir)
            #expect(try log.committed(in: reopened) == [1, 2, 3, 5, 6, 7], "the commit whose fsync failed was cut from the log")
            try reopened.close()
        }
    }

    @Test func everyCommitFsyncsBeforeCommitReturns() throws {
        let faults = FaultInjector()
        try TemporaryDirectory.with { dir in
            var log = try CommitLog(seriesCount: 2, rng: SeededRandom(seed: 23))
            let db = try DB.open(directory: dir, options: Self.options(faults, sync: .everyCommit))
            for k in 1...5 {
                let before = faults.fsyncs
                #expect(log.commit(k, to: db) == nil)
                #expect(faults.fsyncs == before + 1, "one fsync per lone commit")
            }
            try db.close()
        }
    }

    @Test func onSegmentCutDoesNotFsyncCommits() throws {
        let faults = FaultInjector()
        try TemporaryDirectory.with { dir in
            var log = try CommitLog(seriesCount: 2, rng: SeededRandom(seed: 24))
            let db = try DB.open(directory: dir, options: Self.options(faults))
            let before = faults.fsyncs
            for k in 1...20 { #expect(log.commit(k, to: db) == nil) }
            #expect(faults.fsyncs == before)
            try db.close()
            #expect(faults.fsyncs == before + 1, "close fsyncs the segment")
        }
    }

    /// Many threads commit with `.everyCommit` while each fsync takes 2 ms: commits that
    /// arrive during an fsync share the next one.
    @Test func groupCommitSharesFsyncsAndKeepsEveryCommit() throws {
        let faults = FaultInjector()
        faults.slowFsyncs(microseconds: 2000)
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options(faults, sync: .everyCommit))
            let threads = 8
            let perThread = 40
            let failures = Atomic<Int>(0)
            let before = faults.fsyncs
            runThreads(threads) { t in
                do {
                    let labels = try Labels(["__name__": "g", "thread": String(t)])
                    for k in 1...perThread {
                        var app = try db.appender()
                        try app.append(labels, timestamp: Int64(k), value: Double(t * 1000 + k))
                        try app.commit()
                    }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
            let fsyncs = faults.fsyncs - before
            #expect(failures.load(ordering: .relaxed) == 0)
            #expect(fsyncs < threads * perThread, "\(fsyncs) fsyncs for \(threads * perThread) commits")
            #expect(fsyncs <= threads * perThread / 2, "\(fsyncs) fsyncs for \(threads * perThread) commits")
            try db.close()

            let reopened = try DB.open(directory: dir)
            let series = try reopened.querier(minTime: .min, maxTime: .max).select("g")
            #expect(series.count == threads)
            for s in series {
                let t = Int(s.labels["thread"] ?? "") ?? -1
                #expect(s.samples.map(\.timestamp) == (1...perThread).map(Int64.init))
                #expect(s.samples.map(\.value) == (1...perThread).map { Double(t * 1000 + $0) })
            }
            try reopened.close()
        }
    }

    /// An fsync failure while other threads commit: every commit that returned is there after
    /// a restart, none that threw is.
    @Test func fsyncFailureAmongConcurrentCommitsKeepsExactlyTheSuccessfulOnes() throws {
        let faults = FaultInjector()
        faults.slowFsyncs(microseconds: 500)
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options(faults, sync: .everyCommit))
            let threads = 6
            let perThread = 60
            let outcomes = Mutex<[Int: [Int: Bool]]>([:])
            runThreads(threads) { t in
                let labels = try! Labels(["__name__": "f", "thread": String(t)])
                for k in 1...perThread {
                    // Thread 0 arms a failure now and then; whichever fsync comes next fails.
                    if t == 0 && k % 20 == 0 { faults.failFsyncs(1) }
                    var ok = true
                    do {
                        var app = try db.appender()
                        try app.append(labels, timestamp: Int64(k), value: Double(k))
                        try app.commit()
                    } catch {
                        ok = false
                    }
                    outcomes.withLock { $0[t, default: [:]][k] = ok }
                }
            }
            try db.close()
            let expected = outcomes.withLock { $0 }
            let failed = expected.values.flatMap(\.values).filter { !$0 }.count
            #expect(failed > 0, "some commits met a failed fsync")
            let reopened = try DB.open(directory: dir)
            let series = try reopened.querier(minTime: .min, maxTime: .max).select("f")
            var byThread: [Int: [Int64]] = [:]
            for s in series { byThread[Int(s.labels["thread"] ?? "") ?? -1] = s.samples.map(\.timestamp) }
            for t in 0..<threads {
                let succeeded = (1...perThread).filter { expected[t]?[$0] == true }.map(Int64.init)
                #expect(byThread[t, default: []] == succeeded, "thread \(t)")
            }
            #expect(reopened.replayStats.unknownRefs == 0)
            try reopened.close()
        }
    }
}
