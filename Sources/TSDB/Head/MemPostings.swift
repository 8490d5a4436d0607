/// The head's inverted index: label name → label value → ascending series references, plus
/// the list of every series. Readers share a lock; commits that index new series take it alone.
///
/// Lists handed to readers are copy-on-write snapshots: a later commit never changes what a
/// reader already holds.
final class MemPostings: @unchecked Sendable {
    private let lock = RWLock()
    // Guarded by `lock`.
    private var byName: [ByteString: [ByteString: [UInt64]]] = [:]
    private var all: [UInt64] = []

    /// Adds each series under each of its labels and under the all-series list.
    func add(_ series: [MemSeries]) {
        guard !series.isEmpty else { return }
        lock.withWriteLock {
            for s in series {
                Self.insert(s.ref, into: &all)
                for label in s.labels {
                    Self.insert(s.ref, into: &byName[ByteString(label.name), default: [:]][ByteString(label.value), default: []])
                }
            }
        }
    }

    /// Removes the series from every list they are in (head truncation).
    func remove(_ series: [MemSeries]) {
        guard !series.isEmpty else { return }
        let refs = Set(series.map(\.ref))
        lock.withWriteLock {
            all.removeAll { refs.contains($0) }
            for s in series {
                for label in s.labels {
                    let name = ByteString(label.name)
                    let value = ByteString(label.value)
                    byName[name]?[value]?.removeAll { refs.contains($0) }
                    if byName[name]?[value]?.isEmpty == true { byName[name]?[value] = nil }
                    if byName[name]?.isEmpty == true { byName[name] = nil }
                }
            }
        }
    }

    /// Appends, then moves the new reference back to its place; references are handed out in
    /// increasing order, so this is almost always a plain append.
    private static func insert(_ ref: UInt64, into list: inout [UInt64]) {
        list.append(ref)
        var i = list.count - 1
        while i > 0 && list[i - 1] > ref {
            list.swapAt(i - 1, i)
            i -= 1
        }
    }

    func allPostings() -> [UInt64] {
        lock.withReadLock { all }
    }

    func postings(name: String, value: String) -> [UInt64] {
        lock.withReadLock { byName[ByteString(name)]?[ByteString(value)] ?? [] }
    }

    /// The lists of every value of `name` that satisfies `predicate`.
    func postings(name: String, where predicate: (String) -> Bool) -> [[UInt64]] {
        lock.withReadLock {
            guard let values = byName[ByteString(name)] else { return [] }
            var out: [[UInt64]] = []
            for (value, list) in values where predicate(value.string) { out.append(list) }
            return out
        }
    }

    /// Every label name, sorted byte-wise.
    func labelNames() -> [String] {
        lock.withReadLock { byName.keys.sorted().map(\.string) }
    }

    /// Every value of `name`, sorted byte-wise.
    func labelValues(name: String) -> [String] {
        lock.withReadLock { (byName[ByteString(name)]?.keys.sorted() ?? []).map(\.string) }
    }

    var seriesCount: Int { lock.withReadLock { all.count } }
}

extension MemPostings: PostingsReader {}
