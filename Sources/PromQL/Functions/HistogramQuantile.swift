/// Prometheus 2.42's `bucketQuantile` for classic (`le`-labelled) histogram buckets.
enum HistogramQuantile {
    /// Prometheus 2.42's `bucketQuantile` over classic buckets given in any order.
    ///
    /// The buckets are sorted by upper bound; the highest must be +Inf (else NaN). Buckets
    /// with the same bound are merged, counts are forced monotonic, fewer than two buckets or
    /// no observations give NaN. A rank in the +Inf bucket gives the second-highest bound; in
    /// the lowest bucket the interpolation starts at 0 unless that bucket's bound is ≤ 0, in
    /// which case the bound itself is the answer.
    static func quantile(_ q: Double, buckets input: [(upperBound: Double, count: Double)]) -> Double {
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        guard !input.isEmpty else { return .nan }

        var buckets = input
        sortByUpperBound(&buckets)
        guard let highest = buckets.last, highest.upperBound == .infinity else { return .nan }

        coalesce(&buckets)
        ensureMonotonic(&buckets)

        guard buckets.count >= 2 else { return .nan }
        let observations = buckets[buckets.count - 1].count
        if observations == 0 { return .nan }
        var rank = q * observations
        let b = goSearch(buckets.count - 1) { buckets[$0].count >= rank }

        if b == buckets.count - 1 { return buckets[buckets.count - 2].upperBound }
        if b == 0 && buckets[0].upperBound <= 0 { return buckets[0].upperBound }

        var bucketStart = 0.0
        let bucketEnd = buckets[b].upperBound
        var count = buckets[b].count
        if b > 0 {
            bucketStart = buckets[b - 1].upperBound
            count -= buckets[b - 1].count
            rank -= buckets[b - 1].count
        }
        return bucketStart + (bucketEnd - bucketStart) * (rank / count)
    }

    /// Ascending by upper bound. Without NaN bounds any sort gives Go's order (up to equal
    /// bounds, which are merged next). With a NaN bound (`le="NaN"`), Go's `sort.Sort` on
    /// a short slice is an insertion sort, which a NaN blocks; that is what we do then.
    private static func sortByUpperBound(_ buckets: inout [(upperBound: Double, count: Double)]) {
        if !buckets.contains(where: { $0.upperBound.isNaN }) {
            buckets.sort { $0.upperBound < $1.upperBound }
            return
        }
        guard buckets.count > 1 else { return }
        for i in 1..<buckets.count {
            var j = i
            while j > 0 && buckets[j].upperBound < buckets[j - 1].upperBound {
                buckets.swapAt(j, j - 1)
                j -= 1
            }
        }
    }

    /// Merges neighbours with the same upper bound, adding their counts.
    private static func coalesce(_ buckets: inout [(upperBound: Double, count: Double)]) {
        guard var last = buckets.first else { return }
        var i = 0
        for b in buckets.dropFirst() {
            if b.upperBound == last.upperBound {
                last.count += b.count
            } else {
                buckets[i] = last
                last = b
                i += 1
            }
        }
        buckets[i] = last
        buckets.removeSubrange((i + 1)...)
    }

    /// Raises any count below an earlier one to that earlier maximum (precision loss or
    /// scrapes at different times can make cumulative counts dip). NaN counts stay.
    private static func ensureMonotonic(_ buckets: inout [(upperBound: Double, count: Double)]) {
        guard var maximum = buckets.first?.count else { return }
        for i in buckets.indices.dropFirst() {
            if buckets[i].count > maximum {
                maximum = buckets[i].count
            } else if buckets[i].count < maximum {
                buckets[i].count = maximum
            }
        }
    }

    /// Go's `sort.Search`: the smallest index in [0, n) for which `f` is true (n if none),
    /// by the same bisection, so a non-monotonic `f` (NaN counts) lands where Go's does.
    static func goSearch(_ n: Int, _ f: (Int) -> Bool) -> Int {
        var i = 0, j = n
        while i < j {
            let h = Int(UInt(bitPattern: i + j) >> 1)
            if !f(h) { i = h + 1 } else { j = h }
        }
        return i
    }
}
