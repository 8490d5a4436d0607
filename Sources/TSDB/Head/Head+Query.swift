extension Head {
    /// The series matching `matchers` that have samples in `[minTime, maxTime]`, sorted by
    /// labels, each with its chunks as of one instant between commits.
    ///
    /// Holds the commit gate exclusively while it resolves postings and copies chunk lists,
    /// which costs O(matching series) and briefly holds back commits.
    func select(_ matchers: [Matcher], minTime: Int64, maxTime: Int64) -> [Series] {
        let headMin = self.minTime
        let headMax = self.maxTime
        guard headMin <= headMax, headMax >= minTime, headMin <= maxTime else { return [] }
        var out: [Series] = commitGate.withWriteLock {
            let refs = PostingsForMatchers.resolve(matchers, in: postings)
            var out: [Series] = []
            out.reserveCapacity(refs.count)
            for ref in refs {
                guard let s = series.lookup(ref)?.takeUnretainedValue() else { continue }
                var chunks = s.state.withLock { $0.chunks(minTime: minTime, maxTime: maxTime) }
                chunks = chunks.applying(tombstones.get(ref))
                if !chunks.isEmpty {
                    out.append(Series(labels: s.labels, chunks: chunks, minTime: minTime, maxTime: maxTime))
                }
            }
            return out
        }
        // A chunk overlapping the range may still have no sample inside it (samples on both
        // sides of a narrow range). Decode only those series whose chunk ends all fall outside.
        out.removeAll { s in
            let certain = s.chunks.contains { c in
                (c.minTime >= minTime && c.minTime <= maxTime) || (c.maxTime >= minTime && c.maxTime <= maxTime)
            }
            if certain { return false }
            var it = s.makeIterator()
            return it.next() == nil
        }
        out.sort { Labels.compare($0.labels, $1.labels) < 0 }
        return out
    }

    /// Sorted label names of the series matching `matchers` (of all series when empty).
    func labelNames(matching matchers: [Matcher]) -> [String] {
        if matchers.isEmpty { return postings.labelNames() }
        var names = Set<ByteString>()
        for ref in PostingsForMatchers.resolve(matchers, in: postings) {
            guard let s = series.lookup(ref)?.takeUnretainedValue() else { continue }
            for label in s.labels { names.insert(ByteString(label.name)) }
        }
        return names.sorted().map(\.string)
    }

    /// Sorted values of `name` among the series matching `matchers` (all series when empty).
    func labelValues(_ name: String, matching matchers: [Matcher]) -> [String] {
        if matchers.isEmpty { return postings.labelValues(name: name) }
        var values = Set<ByteString>()
        for ref in PostingsForMatchers.resolve(matchers, in: postings) {
            guard let s = series.lookup(ref)?.takeUnretainedValue(), let v = s.labels[name] else { continue }
            values.insert(ByteString(v))
        }
        return values.sorted().map(\.string)
    }
}
