/// Where postings come from: the head's ``MemPostings`` now, block indexes later.
protocol PostingsReader {
    func allPostings() -> [UInt64]
    func postings(name: String, value: String) -> [UInt64]
    /// The postings lists of every value of `name` that satisfies `predicate`.
    func postings(name: String, where predicate: (String) -> Bool) -> [[UInt64]]
}

extension MemPostings: PostingsReader {}

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
