import Dispatch
import Foundation
import Synchronization
import Testing
import TSDBTestSupport

import TSDB

/// Issue 11, hostile input through the API: each case gets a clear error or a documented
/// behaviour, never a trap, and the directory still opens and verifies afterwards.
@Suite(.heavy) struct HostileInputTests {
    func code(_ body: () throws -> Void) -> TSDBError.Code? {
        do { try body(); return nil } catch { return (error as? TSDBError)?.code ?? .io }
    }

    /// Commits `app`; the error, if any.
    static func commitError(_ app: consuming Appender) -> TSDBError? {
        do throws(TSDBError) { try app.commit(); return nil } catch { return error }
    }

    static func options() -> Options {
        var options = Options()
        options.compactionEnabled = false
        options.maxFutureSkew = nil
        return options
    }

    // MARK: labels

    @Test(arguments: [
        [("", "x")], [("1abc", "x")], [("a-b", "x")], [("a b", "x")], [("é", "x")],
        [("job", "a"), ("job", "b")], [], [("job", "")], [("__name__", "")],
    ] as [[(String, String)]])
    func invalidLabelSetsAreRefused(pairs: [(String, String)]) {
        #expect(code { _ = try Labels(pairs) } == .invalidLabels)
    }

    /// Large label sets are stored: a 64 MiB value and 10,000 labels go through the WAL, a
    /// restart, and a block (index symbols and series entries have 4-byte lengths).
    @Test func aLabelValueOf64MiBAnd10000LabelsRoundTrip() throws {
        let huge = String(repeating: "v", count: 64 << 20)
        let big = try Labels([("__name__", "huge"), ("value", huge)])
        let wide = try Labels([("__name__", "wide")] + (0..<10_000).map { ("l\($0)", "v\($0)") })
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: Self.options())
            var app = try db.appender()
            try app.append(big, timestamp: 1000, value: 1)
            try app.append(wide, timestamp: 1000, value: 2)
            try app.commit()
            try db.close()
            db = try DB.open(directory: dir, options: Self.options())
            try db.snapshot(to: dir + "-snap", includeHead: true)
            try db.close()
            defer { try? FileManager.default.removeItem(atPath: dir + "-snap") }
            for path in [dir, dir + "-snap"] {
                let reopened = try DB.openReadOnly(directory: path)
                let q = try reopened.querier(minTime: .min, maxTime: .max)
                #expect(try q.select("huge").first?.labels["value"]?.utf8.count == 64 << 20, "\(path)")
                #expect(try q.select("wide").first?.labels.count == 10_001, "\(path)")
                try reopened.close()
            }
        }
    }

    /// A series record larger than a WAL segment goes whole into a new segment, which grows
    /// past the segment size (FORMAT.md §6.4), and replays.
    @Test func aSeriesLargerThanAWALSegmentGoesIntoOneLargerSegment() throws {
        var options = Self.options()
        options.walSegmentSize = 32 * 1024
        options.walCompression = .none
        let value = String(repeating: "x", count: 1 << 20)
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: options)
            var app = try db.appender()
            try app.append(try Labels(["__name__": "huge", "v": value]), timestamp: 1, value: 1)
            try app.append(try Labels(["__name__": "small"]), timestamp: 2, value: 2)
            try app.commit()
            try db.close()
            let sizes = try FileSystem.list(dir + "/wal", sys: .system)!.compactMap { FileSystem.size(dir + "/wal/" + $0, sys: .system) }
            #expect(sizes.contains { $0 > 1 << 20 }, "one segment holds the whole 1 MiB record: \(sizes)")
            db = try DB.open(directory: dir, options: options)
            let found = try db.querier(minTime: .min, maxTime: .max).select(#"{__name__=~".+"}"#)
            #expect(found.compactMap(\.labels.metricName) == ["huge", "small"])
            #expect(found.first?.labels["v"] == value)
            try db.close()
        }
    }

    // MARK: values

    /// NaN payloads, the staleness marker, ±Inf, -0 and subnormals keep their exact bits
    /// through the head, the WAL, `chunks_head/` and blocks.
    @Test func specialValuesKeepTheirBitsEverywhere() throws {
        let values = InterestingValues.all
        let labels = try Labels(["__name__": "special"])
        func bits(_ db: DB) throws -> [UInt64] {
            try db.querier(minTime: .min, maxTime: .max).select("special").first?.samples.map(\.value.bitPattern) ?? []
        }
        // Timestamps over 5 h, so chunks close (chunks_head/) and a block is cut.
        let n = 600
        let expected = (0..<n).map { values[$0 % values.count].bitPattern }
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: Self.options())
            var app = try db.appender()
            for i in 0..<n { try app.append(labels, timestamp: Int64(i) * 30_000, value: values[i % values.count]) }
            try app.commit()
            #expect(try bits(db) == expected, "head")
            try db.close()
            db = try DB.open(directory: dir, options: Self.options())
            #expect(try bits(db) == expected, "WAL and chunks_head replay")
            #expect(try db.compact().count >= 1)
            #expect(try bits(db) == expected, "blocks and head")
            try db.close()
            db = try DB.open(directory: dir, options: Self.options())
            #expect(try bits(db) == expected, "after restart")
            try db.close()
        }
    }

    // MARK: timestamps

    /// Negative timestamps across zero: Prometheus's chunk ranges truncate toward zero
    /// while block ranges round down, so a chunk can straddle a block boundary; each sample
    /// must still be found exactly once after the cut.
    @Test func negativeTimestampsAcrossZeroAreCutIntoBlocksOnce() throws {
        let labels = try Labels(["__name__": "neg"])
        let hour: Int64 = 3_600_000
        let stamps = Array(stride(from: -5 * hour, to: 1 * hour, by: 60_000))
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: Self.options())
            var app = try db.appender()
            for t in stamps { try app.append(labels, timestamp: t, value: Double(t)) }
            try app.commit()
            #expect(try db.compact().count >= 2)
            for d in [db] {
                let got = try d.querier(minTime: .min, maxTime: .max).select("neg").first?.samples.map(\.timestamp)
                #expect(got == stamps)
            }
            try db.close()
            db = try DB.open(directory: dir, options: Self.options())
            #expect(try db.querier(minTime: .min, maxTime: .max).select("neg").first?.samples.map(\.timestamp) == stamps)
            #expect(try db.querier(minTime: -hour, maxTime: hour).select("neg").first?.samples.map(\.timestamp) == stamps.filter { $0 >= -hour && $0 <= hour })
            try db.close()
        }
    }

    @Test func queriesAtTheExtremesOfInt64() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options())
            var app = try db.appender()
            try app.append(try Labels(["__name__": "x"]), timestamp: 0, value: 1)
            try app.commit()
            for (lo, hi) in [(Int64.min, Int64.max), (.min, .min), (.max, .max), (0, 0), (.min, 0), (0, .max)] {
                let n = try db.querier(minTime: lo, maxTime: hi).select("x").count
                #expect(n == (lo <= 0 && hi >= 0 ? 1 : 0), "[\(lo), \(hi)]")
            }
            #expect(code { _ = try db.querier(minTime: 1, maxTime: 0) } == .invalidArgument)
            try db.delete("x", minTime: .min, maxTime: .max)
            #expect(try db.querier(minTime: .min, maxTime: .max).select("x").isEmpty)
            try db.close()
        }
    }

    // MARK: lifecycle

    @Test func useAfterCloseIsAnError() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options())
            var app = try db.appender()
            try app.append(try Labels(["__name__": "x"]), timestamp: 1, value: 1)
            let querier = try db.querier(minTime: .min, maxTime: .max)
            try db.close()
            let failure = Self.commitError(app)
            #expect(failure?.code == .closed)
            #expect(code { _ = try db.appender() } == .closed)
            #expect(code { _ = try db.querier(minTime: 0, maxTime: 1) } == .closed)
            #expect(code { try db.delete("x", minTime: 0, maxTime: 1) } == .closed)
            #expect(code { _ = try db.compact() } == .closed)
            #expect(code { _ = try db.snapshot(to: dir + "-s", includeHead: true) } == .closed)
            // A querier taken before close answers or fails cleanly.
            _ = code { _ = try querier.select("x") }
            try db.close()  // twice: harmless
        }
    }

    @Test func twoOpensOfOneDirectory() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options())
            #expect(code { _ = try DB.open(directory: dir, options: Self.options()) } == .locked)
            let reader = try DB.openReadOnly(directory: dir)
            try reader.close()
            try db.close()
            let again = try DB.open(directory: dir, options: Self.options())
            try again.close()
        }
    }

    /// Threads append and query while another closes the database: every call returns or
    /// throws `.closed`; nothing traps or hangs, and what was committed is there afterwards.
    @Test(arguments: 0..<3)
    func closeWhileOtherThreadsAppendAndQuery(round: Int) throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options())
            let committed = Mutex<[Int64]>([])
            let unexpected = Mutex<[String]>([])
            let labels = try Labels(["__name__": "c"])
            runThreads(4) { worker in
                if worker == 0 {
                    usleep(UInt32(2_000 + round * 3_000))
                    do { try db.close() } catch { unexpected.withLock { $0.append("close: \(error)") } }
                    return
                }
                for k in 0..<2_000 {
                    do throws(TSDBError) {
                        if worker == 1 {
                            var app = try db.appender()
                            let t = Int64(k)
                            try app.append(labels, timestamp: t, value: 1)
                            try app.commit()
                            committed.withLock { $0.append(t) }
                        } else {
                            _ = try db.querier(minTime: .min, maxTime: .max).select("c")
                        }
                    } catch where error.code == .closed {
                        return
                    } catch {
                        unexpected.withLock { $0.append("\(error)") }
                        return
                    }
                }
            }
            #expect(unexpected.withLock { $0 } == [])
            let reopened = try DB.open(directory: dir, options: Self.options())
            let got = try reopened.querier(minTime: .min, maxTime: .max).select("c").first?.samples.map(\.timestamp) ?? []
            let acknowledged = committed.withLock { $0 }
            #expect(Set(acknowledged).isSubset(of: Set(got)), "every acknowledged commit is there")
            #expect(got.count <= acknowledged.count + 1, "at most the commit in flight besides")
            try reopened.close()
        }
    }

    // MARK: selectors

    @Test func hostileSelectorsAreParseErrorsNotCrashes() throws {
        let nested = String(repeating: "(", count: 100_000) + "up" + String(repeating: ")", count: 100_000)
        let long = "up{job=\"" + String(repeating: "a", count: 1 << 20) + "\"}"
        let manyMatchers = "{" + (0..<20_000).map { "l\($0)=\"v\"" }.joined(separator: ",") + "}"
        let deepRegex = "{job=~\"" + String(repeating: "(", count: 10_000) + "a" + String(repeating: ")", count: 10_000) + "\"}"
        for (name, text, parses) in [
            ("nested parentheses", nested, false), ("1 MiB value", long, true), ("20,000 matchers", manyMatchers, true),
            ("invalid UTF-8 escape", #"{job="\xff"}"#, false), ("octal byte above 0x7f", #"{job="\377"}"#, false),
            ("unterminated", "{job=\"abc", false), ("empty", "", false), ("NUL", "up{job=\"\u{0}\"}", true),
            ("10,000-deep regex group", deepRegex, false),
        ] as [(String, String, Bool)] {
            do throws(TSDBError) {
                _ = try Selector.parse(text)
                #expect(parses, "\(name) parsed")
            } catch {
                #expect(!parses, "\(name): \(error.description.prefix(300))")
                #expect([.invalidSelector, .invalidMatcher].contains(error.code), "\(name): \(error.description.prefix(300))")
                #expect(error.message.utf8.count < 2_000, "\(name): the message quotes a bounded excerpt")
            }
        }
        // A parsed 1 MiB matcher queries fine.
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options())
            #expect(try db.querier(minTime: .min, maxTime: .max).select(long).isEmpty)
            try db.close()
        }
    }
}
