import Foundation
import Synchronization
import Testing
import TSDBTestSupport

@testable import TSDB

/// Issue 11, defects 1 and 2: every `Int64` timestamp is accepted or refused with a clear
/// error (never a trap), and one far-future sample cannot poison the head.
@Suite(.heavy) struct TimestampPolicyTests {
    static let series = try! Labels(["__name__": "up", "job": "api"])
    static let now: Int64 = 1_700_000_000_000

    static func options(skew: Int64? = 10 * 60_000, clock: Int64 = now) -> Options {
        var options = Options()
        options.compactionEnabled = false
        options.maxFutureSkew = skew
        options.clock = { clock }
        return options
    }

    func code(_ body: () throws -> Void) -> TSDBError.Code? {
        do { try body(); return nil } catch { return (error as? TSDBError)?.code }
    }

    func samples(_ db: DB) throws -> [Sample] {
        try db.querier(minTime: .min, maxTime: .max).select("up").first?.samples ?? []
    }

    /// Appends one sample to a new series in its own transaction; the error code, if any.
    func appendAlone(_ db: DB, _ t: Int64, labels: Labels = series) throws -> TSDBError.Code? {
        var app = try db.appender()
        let failure = code { _ = try app.append(labels, timestamp: t, value: 1) }
        try app.commit()
        return failure
    }

    @Test(arguments: [Int64.max, Int64.max - 1, 1 << 62, Int64.min, Int64.min + 1, -(1 << 62) - 1] as [Int64])
    func outsideTheStorableRangeIsAClearError(t: Int64) throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options(skew: nil))
            #expect(try appendAlone(db, t) == .timestampOutOfRange)
            // Through the reference fast path too.
            var app = try db.appender()
            let ref = try app.append(Self.series, timestamp: 0, value: 1)
            #expect(code { _ = try app.append(ref, timestamp: t, value: 2) } == .timestampOutOfRange)
            try app.commit()
            #expect(try samples(db) == [Sample(timestamp: 0, value: 1)])
            try db.close()
        }
    }

    @Test func theMessageNamesTheTimestampAndTheRange() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir, options: Self.options(skew: nil))
            var app = try db.appender()
            do throws(TSDBError) {
                try app.append(Self.series, timestamp: .max, value: 1)
                Issue.record("accepted Int64.max")
            } catch {
                #expect(error.code == .timestampOutOfRange)
                #expect(error.message.contains("\(Int64.max)"))
                #expect(error.message.contains("\(DB.storableTimestamps.upperBound)"))
            }
            app.rollback()
            try db.close()
        }
    }

    /// The ends of the storable range go in, come back after a restart, and are cut into
    /// blocks and merged without overflow.
    @Test func bothEndsOfTheRangeSurviveRestartAndCompaction() throws {
        let lo = DB.storableTimestamps.lowerBound
        let hi = DB.storableTimestamps.upperBound
        let low = try Labels(["__name__": "up", "end": "low"])
        let high = try Labels(["__name__": "up", "end": "high"])
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: Self.options(skew: nil))
            var app = try db.appender()
            try app.append(low, timestamp: lo, value: 1)
            try app.append(low, timestamp: lo + 1, value: 2)
            try app.commit()
            // Int64.min is the "no sample" sentinel of a series: a first sample just above it
            // must not be taken for a duplicate.
            #expect(try appendAlone(db, lo, labels: try Labels(["__name__": "other"])) == nil)
            try db.close()

            db = try DB.open(directory: dir, options: Self.options(skew: nil))
            app = try db.appender()
            try app.append(high, timestamp: hi - 1, value: 3)
            try app.append(high, timestamp: hi, value: 4)
            try app.commit()
            try db.compact()
            try db.close()

            db = try DB.open(directory: dir, options: Self.options(skew: nil))
            let all = try db.querier(minTime: .min, maxTime: .max).select("up")
            #expect(all.map(\.samples) == [[Sample(timestamp: hi - 1, value: 3), Sample(timestamp: hi, value: 4)],
                                          [Sample(timestamp: lo, value: 1), Sample(timestamp: lo + 1, value: 2)]])
            #expect(db.blocks.count >= 1, "the low end was cut into a block")
            try db.delete("up", minTime: .min, maxTime: .max)
            #expect(try db.querier(minTime: .min, maxTime: .max).select("up").isEmpty)
            try db.cleanTombstones()
            try db.close()
        }
    }

    @Test func aSampleBeyondTheClockPlusSkewIsRefused() throws {
        try TemporaryDirectory.with { dir in
            let skew: Int64 = 10 * 60_000
            let db = try DB.open(directory: dir, options: Self.options(skew: skew))
            var app = try db.appender()
            let ref = try app.append(Self.series, timestamp: Self.now, value: 1)
            try app.append(ref, timestamp: Self.now + skew, value: 2)   // at the limit: accepted
            do throws(TSDBError) {
                try app.append(ref, timestamp: Self.now + skew + 1, value: 3)
                Issue.record("accepted a sample past the skew")
            } catch {
                #expect(error.code == .tooFarInFuture)
                #expect(error.message.contains("\(Self.now + skew + 1)"))
                #expect(error.message.contains("\(Self.now + skew)"))
            }
            try app.commit()
            #expect(try samples(db).map(\.timestamp) == [Self.now, Self.now + skew])
            try db.close()
        }
    }

    @Test func theClockIsReadPerAppender() throws {
        try TemporaryDirectory.with { dir in
            let clock = ManualClock(Self.now)
            var options = Self.options(skew: 0)
            options.clock = { clock.now.load(ordering: .relaxed) }
            let db = try DB.open(directory: dir, options: options)
            #expect(try appendAlone(db, Self.now + 1000) == .tooFarInFuture)
            clock.now.store(Self.now + 1000, ordering: .relaxed)
            #expect(try appendAlone(db, Self.now + 1000) == nil)
            try db.close()
        }
    }

    /// Prometheus issue 13573, with the default policy: a sample ten years ahead is refused,
    /// and normal appends go on working, after compaction and a restart too.
    @Test func aFarFutureSampleDoesNotPoisonTheHead() throws {
        let tenYears: Int64 = 10 * 365 * 24 * 3_600_000
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: Self.options())
            let start = Self.now - 100 * 15_000
            for k in 0..<100 { #expect(try appendAlone(db, start + Int64(k) * 15_000) == nil) }
            #expect(try appendAlone(db, Self.now + tenYears) == .tooFarInFuture)
            #expect(db.head.stats.tooFarInFuture.load(ordering: .relaxed) == 1)
            #expect(try appendAlone(db, Self.now + 1) == nil)
            try db.compact()
            #expect(try appendAlone(db, Self.now + 2) == nil)
            try db.close()
            db = try DB.open(directory: dir, options: Self.options())
            #expect(try appendAlone(db, Self.now + 3) == nil)
            #expect(try samples(db).count == 103)
            try db.close()
        }
    }

    /// With the check off the far-future sample is accepted and moves the head's time, so
    /// older appends are out of bounds, as in Prometheus (README, "Timestamps"). Cutting
    /// blocks does not write one block per 2 h of the gap, and nothing traps.
    @Test func withTheCheckOffAFarFutureSampleMovesTheHeadWithoutABlockPerGap() throws {
        let tenYears: Int64 = 10 * 365 * 24 * 3_600_000
        try TemporaryDirectory.with { dir in
            var db = try DB.open(directory: dir, options: Self.options(skew: nil))
            let start = Self.now - 100 * 15_000
            for k in 0..<100 { #expect(try appendAlone(db, start + Int64(k) * 15_000) == nil) }
            #expect(try appendAlone(db, Self.now + tenYears) == nil)
            #expect(try appendAlone(db, Self.now + 1) == .outOfBounds)
            let written = try db.compact()
            #expect(written.count <= 2, "blocks for the 25 minutes of normal data only, not the 10-year gap: \(written.count)")
            #expect(written.allSatisfy { $0.maxTime <= Self.now + 2 * 3_600_000 })
            #expect(try samples(db).count == 101)
            try db.close()
            db = try DB.open(directory: dir, options: Self.options(skew: nil))
            #expect(try appendAlone(db, Self.now + 2) == .outOfBounds)
            #expect(try appendAlone(db, Self.now + tenYears + 1) == nil)
            #expect(try samples(db).count == 102)
            try db.close()
        }
    }

    @Test(arguments: [
        { (o: inout Options) in o.maxFutureSkew = -1 },
        { (o: inout Options) in o.blockRange = Int64.max / 2 },
        { (o: inout Options) in o.retentionDuration = .max },
        { (o: inout Options) in o.maxBlockDuration = .max },
    ] as [@Sendable (inout Options) -> Void])
    func durationsThatCouldOverflowAreRefused(change: @Sendable (inout Options) -> Void) throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            change(&options)
            #expect(code { _ = try DB.open(directory: dir, options: options) } == .invalidArgument)
        }
    }

    @Test func aBlockWithARangeOutsideTheDomainIsCorruptionNamingItsMeta() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir + "/data", options: Self.options(skew: nil))
            #expect(try appendAlone(db, 1000) == nil)
            try db.snapshot(to: dir + "/snap", includeHead: true)
            try db.close()
            let blocks = try #require(try FileSystem.list(dir + "/snap", sys: .system)).filter { $0.count == 26 }
            let meta = dir + "/snap/" + blocks[0] + "/meta.json"
            let text = String(decoding: try TestFiles.read(meta), as: UTF8.self)
            let changed = text.replacingOccurrences(of: #""minTime": *-?[0-9]+"#, with: "\"minTime\": \(Int64.min)", options: .regularExpression)
            #expect(changed != text)
            try TestFiles.write(Array(changed.utf8), to: meta)
            do throws(TSDBError) {
                _ = try DB.openReadOnly(directory: dir + "/snap")
                Issue.record("opened a block starting at Int64.min")
            } catch {
                #expect(error.code == .corruption)
                #expect(error.location?.file == meta)
            }
        }
    }
}

/// A clock a test sets by hand.
final class ManualClock: Sendable {
    let now: Atomic<Int64>
    init(_ start: Int64) { now = Atomic(start) }
}
