import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

@Suite(.heavy) struct AppendRulesTests {
    let series = try! Labels(["__name__": "up", "job": "api"])

    func withDB(_ body: (DB) throws -> Void) throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir)
            try body(db)
            try db.close()
        }
    }

    func samples(_ db: DB, _ selector: String = "up") throws -> [Sample] {
        try db.querier(minTime: .min, maxTime: .max).select(selector).first?.samples ?? []
    }

    func code(_ body: () throws -> Void) -> TSDBError.Code? {
        do { try body(); return nil } catch { return (error as? TSDBError)?.code }
    }

    @Test func outOfOrderDuplicateAndSameValue() throws {
        try withDB { db in
            var app = try db.appender()
            let ref = try app.append(series, timestamp: 100, value: 1)
            try app.commit()

            var app2 = try db.appender()
            #expect(code { _ = try app2.append(ref, timestamp: 99, value: 1) } == .outOfOrderSample)
            #expect(code { _ = try app2.append(ref, timestamp: 100, value: 2) } == .duplicateSampleForTimestamp)
            #expect(code { _ = try app2.append(ref, timestamp: 100, value: 1) } == nil)   // same value: accepted
            // Errors rejected those samples only; the transaction goes on.
            try app2.append(ref, timestamp: 101, value: 3)
            #expect(code { _ = try app2.append(ref, timestamp: 100, value: 4) } == .outOfOrderSample) // own pending
            #expect(code { _ = try app2.append(ref, timestamp: 101, value: 9) } == .duplicateSampleForTimestamp)
            try app2.commit()
            #expect(try samples(db) == [Sample(timestamp: 100, value: 1), Sample(timestamp: 101, value: 3)])
        }
    }

    @Test func nanDuplicatesCompareByBits() throws {
        try withDB { db in
            var app = try db.appender()
            let ref = try app.append(series, timestamp: 1, value: InterestingValues.staleNaN)
            try app.commit()
            var app2 = try db.appender()
            #expect(code { _ = try app2.append(ref, timestamp: 1, value: InterestingValues.staleNaN) } == nil)
            #expect(code { _ = try app2.append(ref, timestamp: 1, value: .nan) } == .duplicateSampleForTimestamp)
            app2.rollback()
        }
    }

    @Test func outOfBoundsBelowHalfAChunkRangeBehindTheNewest() throws {
        try withDB { db in
            var app = try db.appender()
            try app.append(series, timestamp: 10 * 3_600_000, value: 1)
            try app.commit()
            let other = try Labels(["__name__": "other"])
            var app2 = try db.appender()
            #expect(code { _ = try app2.append(other, timestamp: 9 * 3_600_000 - 1, value: 1) } == .outOfBounds)
            try app2.append(other, timestamp: 9 * 3_600_000, value: 1)
            try app2.commit()
            #expect(try samples(db, "other").count == 1)
        }
    }

    @Test func nothingIsVisibleBeforeCommitAndRollbackDiscards() throws {
        try withDB { db in
            var app = try db.appender()
            try app.append(series, timestamp: 1, value: 1)
            #expect(try samples(db).isEmpty)
            #expect(try db.querier(minTime: .min, maxTime: .max).labelNames().isEmpty)
            app.rollback()
            #expect(try samples(db).isEmpty)
            #expect(try db.querier(minTime: .min, maxTime: .max).labelValues("job").isEmpty)

            var app2 = try db.appender()
            try app2.append(series, timestamp: 2, value: 2)
            try app2.commit()
            #expect(try samples(db) == [Sample(timestamp: 2, value: 2)])
            #expect(try db.querier(minTime: .min, maxTime: .max).labelNames() == ["__name__", "job"])
        }
    }

    @Test func droppedAppenderIsRolledBack() throws {
        try withDB { db in
            do {
                var app = try db.appender()
                try app.append(series, timestamp: 5, value: 1)
            }
            #expect(try samples(db).isEmpty)
            // The dropped transaction's pending sample does not block a new one at an earlier time.
            var app = try db.appender()
            try app.append(series, timestamp: 4, value: 1)
            try app.commit()
            #expect(try samples(db).count == 1)
        }
    }

    @Test func refsAreIncreasingAndStable() throws {
        try withDB { db in
            var app = try db.appender()
            let a = try app.append(try Labels(["__name__": "a"]), timestamp: 1, value: 1)
            let b = try app.append(try Labels(["__name__": "b"]), timestamp: 1, value: 1)
            let a2 = try app.append(try Labels(["__name__": "a"]), timestamp: 2, value: 1)
            #expect(a.rawValue < b.rawValue)
            #expect(a == a2)
            #expect(code { _ = try app.append(SeriesRef(rawValue: 999_999), timestamp: 1, value: 1) } == .unknownSeriesRef)
            #expect(code { _ = try app.append(SeriesRef(rawValue: 0), timestamp: 1, value: 1) } == .unknownSeriesRef)
            try app.commit()
            #expect(db.headSeriesCount == 2)
        }
    }

    @Test func closedDatabaseRefusesWork() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir + "/nested/deeper")
            try db.close()
            try db.close()
            #expect(code { _ = try db.appender() } == .closed)
            #expect(code { _ = try db.querier(minTime: 0, maxTime: 1) } == .closed)
        }
    }

    @Test func openRejectsAFileAndBadOptions() throws {
        try TemporaryDirectory.with { dir in
            let file = dir + "/file"
            try "x".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(code { _ = try DB.open(directory: file) } == .invalidArgument)
            var options = Options()
            options.blockRange = 0
            #expect(code { _ = try DB.open(directory: dir, options: options) } == .invalidArgument)
        }
    }
}

import Foundation
