import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct PostingsTests {
    static func randomList(_ rng: inout SeededRandom, max: UInt64) -> [UInt64] {
        Set((0..<Int(rng.next() % 200)).map { _ in rng.next() % max }).sorted()
    }

    @Test func algebraMatchesSets() {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<300 {
            let range = 1 + rng.next() % 1000
            let lists = (0..<(1 + Int(rng.next() % 4))).map { _ in Self.randomList(&rng, max: range) }
            let sets = lists.map(Set.init)
            #expect(Postings.intersect(lists) == sets.dropFirst().reduce(sets[0]) { $0.intersection($1) }.sorted(), "seed \(rng.seed)")
            #expect(Postings.merge(lists) == sets.reduce(Set()) { $0.union($1) }.sorted())
            if lists.count >= 2 {
                #expect(Postings.subtract(lists[0], lists[1]) == sets[0].subtracting(sets[1]).sorted())
            }
        }
    }

    @Test func seekGallops() {
        let list: [UInt64] = Array(stride(from: 0, to: 10_000, by: 3))
        for target in [UInt64(0), 1, 2, 3, 2998, 2999, 9999, 10_000, 20_000] {
            let i = Postings.seek(list, from: 0, to: target)
            #expect(i == list.firstIndex { $0 >= target } ?? list.count)
        }
        #expect(Postings.intersect([]) == [])
        #expect(Postings.merge([]) == [])
    }
}
