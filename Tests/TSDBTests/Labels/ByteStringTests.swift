import Testing
import TSDBTestSupport

@testable import TSDB

@Suite(.heavy) struct ByteStringTests {
    /// Against a model (a set, then a byte-wise sort): random lists of values that share
    /// some members, including non-ASCII ones whose byte order differs from Swift's `<`.
    @Test func mergeSortedEqualsSetAndSort() {
        var rng = SeededRandom(seed: 7)
        let alphabet = ["a", "b", "B", "z", "é", "e\u{301}", "0", "~", "\u{1F600}", ""]
        for _ in 0..<500 {
            let k = Int(rng.next() % 8)
            var lists: [[String]] = []
            var model = Set<ByteString>()
            for _ in 0..<k {
                var set = Set<ByteString>()
                for _ in 0..<Int(rng.next() % 20) {
                    let length = 1 + Int(rng.next() % 3)
                    let value = (0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
                    set.insert(ByteString(value))
                }
                model.formUnion(set)
                lists.append(set.sorted().map(\.string))
            }
            let merged = ByteString.mergeSorted(lists)
            #expect(merged.map(ByteString.init) == model.sorted(), "\(lists)")
        }
    }
}
