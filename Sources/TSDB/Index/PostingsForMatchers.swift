/// Where postings come from: the head's ``MemPostings`` or a block's ``IndexReader``.
protocol PostingsReader {
    func allPostings() -> [UInt64]
    func postings(name: String, value: String) -> [UInt64]
    /// The postings lists of every value of `name` that satisfies `predicate`.
    func postings(name: String, where predicate: (String) -> Bool) -> [[UInt64]]
}

/// Resolves matchers to the ascending references of the series that satisfy all of them,
/// with Prometheus's `PostingsForMatchers` strategy: intersect the lists of matchers that
/// require the label, then subtract those of matchers that exclude values or match "".
enum PostingsForMatchers {
    static func resolve(_ matchers: [Matcher], in index: some PostingsReader) -> [UInt64] {
        guard !matchers.isEmpty else { return [] }
        // Labels some matcher requires to be non-empty.
        var mustBeSet = Set<ByteString>()
        for m in matchers where !m.matches("") { mustBeSet.insert(ByteString(m.name)) }

        var intersecting: [[UInt64]] = []
        var subtracting: [[UInt64]] = []
        let hasIntersecting = matchers.contains { m in
            mustBeSet.contains(ByteString(m.name)) && !(m.kind.isNegative && m.matches(""))
        }
        if !hasIntersecting { intersecting.append(index.allPostings()) }

        for m in matchers {
            if mustBeSet.contains(ByteString(m.name)) {
                let matchesEmpty = m.matches("")
                switch (m.kind.isNegative, matchesEmpty) {
                case (true, true):
                    // l!="foo": subtract the series with l="foo".
                    subtracting.append(postings(for: m.inverse, in: index))
                case (true, false):
                    // l!="": the series whose value of l the inverse does not match.
                    let list = inversePostings(for: m.inverse, in: index)
                    if list.isEmpty { return [] }
                    intersecting.append(list)
                default:
                    let list = postings(for: m, in: index)
                    if list.isEmpty { return [] }
                    intersecting.append(list)
                }
            } else {
                // l="" or l=~"|x": also selects series without l, so subtract the ones whose
                // value does not match.
                subtracting.append(inversePostings(for: m, in: index))
            }
        }
        var result = Postings.intersect(intersecting)
        for list in subtracting where !result.isEmpty {
            result = Postings.subtract(result, list)
        }
        return result
    }

    /// Series whose value of `m.name` matches `m` (which must not match "").
    private static func postings(for m: Matcher, in index: some PostingsReader) -> [UInt64] {
        if let values = m.setMatches {
            return Postings.merge(values.map { index.postings(name: m.name, value: $0) })
        }
        return Postings.merge(index.postings(name: m.name, where: { m.matches($0) }))
    }

    /// Series that have `m.name` with a value `m` does not match.
    private static func inversePostings(for m: Matcher, in index: some PostingsReader) -> [UInt64] {
        Postings.merge(index.postings(name: m.name, where: { !m.matches($0) }))
    }
}

/// ``IndexReader`` as a ``PostingsReader``: the protocol cannot throw, so the first error is
/// kept and rethrown by ``resolve(_:in:)`` after resolution.
final class IndexPostingsReader: PostingsReader {
    let index: IndexReader
    private(set) var error: TSDBError?

    init(_ index: IndexReader) { self.index = index }

    /// ``PostingsForMatchers/resolve(_:in:)`` over `index`, rethrowing any read error.
    static func resolve(_ matchers: [Matcher], in index: IndexReader) throws(TSDBError) -> [UInt64] {
        let reader = IndexPostingsReader(index)
        let refs = PostingsForMatchers.resolve(matchers, in: reader)
        if let error = reader.error { throw error }
        return refs
    }

    func allPostings() -> [UInt64] { attempt { () throws(TSDBError) in try index.allPostings() } ?? [] }

    func postings(name: String, value: String) -> [UInt64] {
        attempt { () throws(TSDBError) in try index.postings(name, value) } ?? []
    }

    func postings(name: String, where predicate: (String) -> Bool) -> [[UInt64]] {
        attempt { () throws(TSDBError) -> [[UInt64]] in
            let values = try index.labelValues(name).filter(predicate)
            return values.isEmpty ? [] : [try index.postings(name, values: values)]
        } ?? []
    }

    private func attempt<T>(_ body: () throws(TSDBError) -> T) -> T? {
        guard error == nil else { return nil }
        do throws(TSDBError) {
            return try body()
        } catch {
            self.error = error
            return nil
        }
    }
}
