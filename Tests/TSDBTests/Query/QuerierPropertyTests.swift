import Dispatch
import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Random series and samples, appended from several threads, then queried and compared with
/// a plain in-memory model, over matchers of every kind and random time ranges.
@Suite(.heavy) struct QuerierPropertyTests {
    static let names = ["__name__", "job", "instance", "code", "path"]
    static let values = ["", "a", "b", "api", "api-2", "web", "5xx", "500", "503", "é", "e\u{301}", "/x\ny", "z"]

    struct Model {
        var series: [Labels: [Sample]] = [:]
    }

    static func randomLabels(_ rng: inout SeededRandom) -> Labels {
        TSDBTestSupport.randomLabels(names: names, values: values, using: &rng)
    }

    static func randomMatcher(_ rng: inout SeededRandom) -> Matcher {
        let name = names[Int(rng.next() % UInt64(names.count))]
        let value = values[Int(rng.next() % UInt64(values.count))]
        let patterns = [".*", ".+", "a.*", ".*i", "api|web", "5..", "(?i)API", "", "e\u{301}|z", "[a-c]", value]
        switch rng.next() % 4 {
        case 0: return .equal(name, value)
        case 1: return .notEqual(name, value)
        case 2: return try! Matcher(.regexMatch, name, patterns[Int(rng.next() % UInt64(patterns.count))])
        default: return try! Matcher(.regexNoMatch, name, patterns[Int(rng.next() % UInt64(patterns.count))])
        }
    }

    @Test func queriesAgreeWithAModel() throws {
        var rng = SeededRandom.fromEnvironment()
        let seed = rng.seed
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir)
            // Distinct random series, split among threads so each series has one writer.
            var all = Set<Labels>()
            while all.count < 300 { all.insert(Self.randomLabels(&rng)) }
            let series = Array(all)
            let threads = 4
            let models = Locked([Model](repeating: Model(), count: threads))
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var rng = SeededRandom(seed: seed &+ UInt64(t) &+ 1)
                let mine = series.enumerated().filter { $0.offset % threads == t }.map(\.element)
                var model = Model()
                var times = [Labels: Int64]()
                for _ in 0..<60 {
                    var app = try! db.appender()
                    var staged: [(Labels, Sample)] = []
                    for _ in 0..<Int(rng.next() % 40) {
                        let l = mine[Int(rng.next() % UInt64(mine.count))]
                        let t = (times[l] ?? 0) + 1 + Int64(rng.next() % 40_000)
                        let s = Sample(timestamp: t, value: InterestingValues.random(using: &rng))
                        try! app.append(l, timestamp: t, value: s.value)
                        times[l] = t
                        staged.append((l, s))
                    }
                    if rng.next() % 5 == 0 {
                        app.rollback()
                        // Rolled back: forget their times so later samples may reuse them.
                        for (l, _) in staged { times[l] = model.series[l]?.last?.timestamp }
                    } else {
                        try! app.commit()
                        for (l, s) in staged { model.series[l, default: []].append(s) }
                    }
                }
                models.withLock { $0[t] = model }
            }
            var model = Model()
            for m in models.withLock({ $0 }) { model.series.merge(m.series) { $0 + $1 } }
            let maxT = model.series.values.compactMap { $0.last?.timestamp }.max() ?? 0

            for _ in 0..<300 {
                let matchers = (0..<(1 + Int(rng.next() % 3))).map { _ in Self.randomMatcher(&rng) }
                let lo = Int64(rng.next() % UInt64(maxT + 1))
                let hi = rng.next() % 4 == 0 ? Int64.max : lo + Int64(rng.next() % UInt64(maxT + 1))
                let querier = try db.querier(minTime: lo, maxTime: hi)
                let got = try querier.select(matchers)

                let expected = ModelQuery.select(model.series, matchers, minTime: lo, maxTime: hi)
                if let d = ModelQuery.difference(got, expected) {
                    Issue.record("seed \(seed) matchers \(matchers) range \(lo)…\(hi): \(d)")
                }
                // Seek lands on the first sample at or after the target.
                if let g = got.first, let e = expected.first, let mid = e.samples.randomElement(using: &rng) {
                    var it = g.makeIterator()
                    #expect(it.seek(to: mid.timestamp) == mid)
                }
                // labelValues under matchers agrees with the model (series with any sample).
                let name = Self.names[Int(rng.next() % UInt64(Self.names.count))]
                let modelValues = Set(model.series.keys.filter { l in matchers.allSatisfy { $0.matches(l[$0.name] ?? "") } }
                    .compactMap { $0[name] }.map(ByteString.init))
                #expect(try querier.labelValues(name, matching: matchers) == modelValues.sorted().map(\.string), "seed \(seed)")
            }
        }
    }
}

/// A value behind a lock, for test threads.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func withLock<R>(_ body: (inout T) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
