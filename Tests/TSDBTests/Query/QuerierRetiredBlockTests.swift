import Foundation
import Testing
import TSDBTestSupport

import TSDB

/// A querier whose blocks are deleted after it was made (by a tombstone cleanup here; by
/// compaction or retention in the soak, where a query failed with `closed: block … is
/// closed`): its queries read the blocks that took over their data instead of failing.
@Suite(.heavy) struct QuerierRetiredBlockTests {
    static let hour: Int64 = 3_600_000

    @Test func aQuerierOutlivesTheBlocksItListed() throws {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.compactionEnabled = false
            options.maxFutureSkew = nil
            let db = try DB.open(directory: dir, options: options)
            var model: SampleModel = [:]
            let series = try (0..<3).map { try Labels(["__name__": "m", "i": "\($0)"]) }
            var app = try db.appender()
            for t in stride(from: Int64(0), to: 7 * Self.hour, by: 60_000) {
                for l in series {
                    try app.append(l, timestamp: t, value: Double(t))
                    model[l, default: []].append(Sample(timestamp: t, value: Double(t)))
                }
            }
            try app.commit()
            try db.compact()
            try #require(db.blocks.count == 2)

            let q = try db.querier(minTime: .min, maxTime: .max)
            try db.delete(#"m{i="0"}"#, minTime: 0, maxTime: Self.hour)
            model[series[0]]!.removeAll { $0.timestamp <= Self.hour }
            let rewritten = try db.cleanTombstones()
            #expect(rewritten.count == 1)  // the first block, now closed and deleted

            let got = try q.select("m")
            #expect(ModelQuery.difference(got, ModelQuery.select(model, try Selector.parse("m"), minTime: .min, maxTime: .max)) == nil)
            #expect(try q.labelValues("i") == ["0", "1", "2"])
            #expect(try q.labelNames() == ["__name__", "i"])
            try db.close()
        }
    }
}
