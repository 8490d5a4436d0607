import Foundation
import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

/// A random workload cut into blocks along the way, queried through blocks and head
/// together, compared with a plain model: every matcher kind, time ranges across block
/// boundaries, before and after reopening.
@Suite(.heavy) struct BlocksAndHeadPropertyTests {
    @Test func queriesOverBlocksAndHeadAgreeWithAModel() throws {
        var rng = SeededRandom.fromEnvironment()
        let seed = rng.seed
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.compactionEnabled = false
            var db = try DB.open(directory: dir, options: options)
            var all = Set<Labels>()
            while all.count < 120 { all.insert(QuerierPropertyTests.randomLabels(&rng)) }
            let series = Array(all)
            var model: [Labels: [Sample]] = [:]
            var t: Int64 = Int64(rng.next() % 600_000)
            let end = t + 11 * 3_600_000
            var cuts = 0
            while t < end {
                try RandomScrape.append(db, series: series, at: t, model: &model, rng: &rng)
                t += 30_000 + Int64(rng.next() % 60_000)
                if rng.next() % 40 == 0 { cuts += try db.compact().count }
            }
            cuts += try db.compact().count
            #expect(cuts >= 3, "seed \(seed): expected several blocks, got \(cuts)")

            func check(_ db: DB, _ context: String) throws {
                var rng = SeededRandom(seed: seed &+ 99)
                for _ in 0..<150 {
                    let matchers = (0..<(1 + Int(rng.next() % 3))).map { _ in QuerierPropertyTests.randomMatcher(&rng) }
                    let lo = Int64(rng.next() % UInt64(end))
                    let hi = rng.next() % 4 == 0 ? Int64.max : lo + Int64(rng.next() % UInt64(4 * 3_600_000))
                    let got = try db.querier(minTime: lo, maxTime: hi).select(matchers)
                    let expected = ModelQuery.select(model, matchers, minTime: lo, maxTime: hi)
                    if let d = ModelQuery.difference(got, expected) {
                        Issue.record("\(context) seed \(seed) \(matchers) \(lo)…\(hi): \(d)")
                    }
                }
            }
            try check(db, "live")
            try db.close()
            db = try DB.open(directory: dir, options: options)
            try check(db, "reopened")
            try db.close()
        }
    }
}
