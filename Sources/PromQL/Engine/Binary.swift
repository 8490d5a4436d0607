import TSDB

extension BinaryOperator {
    /// Whether the result drops `__name__` (arithmetic does, comparisons and set operators do not).
    var dropsMetricName: Bool {
        switch self {
        case .add, .sub, .mul, .div, .mod, .pow, .atan2: true
        default: false
        }
    }

    /// Prometheus's `vectorElemBinop`: the value, and for comparisons whether to keep it.
    @inline(__always) func apply(_ l: Double, _ r: Double) -> (Double, Bool) {
        switch self {
        case .add: (l + r, true)
        case .sub: (l - r, true)
        case .mul: (l * r, true)
        case .div: (l / r, true)
        case .pow: (goPow(l, r), true)
        case .mod: (l.truncatingRemainder(dividingBy: r), true)
        case .atan2: (atan2Go(l, r), true)
        case .equal: (l, l == r)
        case .notEqual: (l, l != r)
        case .greater: (l, l > r)
        case .less: (l, l < r)
        case .greaterEqual: (l, l >= r)
        case .lessEqual: (l, l <= r)
        case .and, .or, .unless: (.nan, false)
        }
    }
}

extension Evaluator {
    func binary(_ op: BinaryOperator, _ lhs: Expr, _ rhs: Expr, matching: VectorMatching, returnBool: Bool) throws(PromQLError) -> EvalValue {
        let l = try eval(lhs)
        let r = try eval(rhs)
        switch (l, r) {
        case let (.scalar(a), .scalar(b)):
            return .scalar(a.indices.map { i in
                let (v, keep) = op.apply(a[i], b[i])
                return returnBool || op.isComparison ? (keep ? 1 : 0) : v
            })
        case let (.vector(v), .scalar(s)):
            return .vector(try vectorScalar(op, v, s, swapped: false, returnBool: returnBool))
        case let (.scalar(s), .vector(v)):
            return .vector(try vectorScalar(op, v, s, swapped: true, returnBool: returnBool))
        case let (.vector(a), .vector(b)):
            switch op {
            case .and, .or, .unless: return .vector(try setOperation(op, a, b, matching: matching))
            default: return .vector(try vectorVector(op, a, b, matching: matching, returnBool: returnBool))
            }
        default:
            throw PromQLError(.execution, "binary expression must contain only scalar and instant vector types")
        }
    }

    private func vectorScalar(_ op: BinaryOperator, _ series: [StepSeries], _ scalar: [Double], swapped: Bool,
                              returnBool: Bool) throws(PromQLError) -> [StepSeries] {
        let drop = op.dropsMetricName || returnBool
        var out: [StepSeries] = []
        out.reserveCapacity(series.count)
        for s in series {
            var points: [StepPoint] = []
            points.reserveCapacity(s.points.count)
            for p in s.points {
                let sv = scalar[p.step]
                var (value, keep) = swapped ? op.apply(sv, p.value) : op.apply(p.value, sv)
                // A comparison keeps the vector's value even when the scalar is on the left.
                if op.isComparison && swapped { value = p.value }
                if returnBool { value = keep ? 1 : 0; keep = true }
                if keep { points.append(StepPoint(step: p.step, value: value)) }
            }
            if !points.isEmpty { out.append(StepSeries(labels: drop ? s.labels.droppingMetricName : s.labels, points: points)) }
        }
        return drop ? try StepSeriesOps.mergeEqualLabels(out) : out
    }

    /// The labels two sides match on: `on(...)` keeps those, `ignoring(...)` drops those and the name.
    func signature(_ labels: Labels, _ matching: VectorMatching, _ names: Set<String>) -> Labels {
        if matching.on { return labels.keeping(names) }
        return Labels(uncheckedSorted: labels.filter { $0.name != "__name__" && !names.contains($0.name) })
    }

    private func setOperation(_ op: BinaryOperator, _ lhs: [StepSeries], _ rhs: [StepSeries],
                              matching: VectorMatching) throws(PromQLError) -> [StepSeries] {
        let names = Set(matching.matchingLabels)
        let lsig = lhs.map { signature($0.labels, matching, names) }
        let rsig = rhs.map { signature($0.labels, matching, names) }
        // Per signature, the steps where that side has an element.
        func stepsBySignature(_ series: [StepSeries], _ sigs: [Labels]) -> [Labels: [Bool]] {
            var m: [Labels: [Bool]] = [:]
            for (i, s) in series.enumerated() {
                var steps = m[sigs[i]] ?? [Bool](repeating: false, count: grid.count)
                for p in s.points { steps[p.step] = true }
                m[sigs[i]] = steps
            }
            return m
        }
        switch op {
        case .and, .unless:
            let right = stepsBySignature(rhs, rsig)
            let keepMatched = op == .and
            var out: [StepSeries] = []
            for (i, s) in lhs.enumerated() {
                let steps = right[lsig[i]]
                let points = s.points.filter { (steps?[$0.step] ?? false) == keepMatched }
                if !points.isEmpty { out.append(StepSeries(labels: s.labels, points: points)) }
            }
            return out
        default:
            let left = stepsBySignature(lhs, lsig)
            var out = lhs
            for (i, s) in rhs.enumerated() {
                let steps = left[rsig[i]]
                let points = s.points.filter { !(steps?[$0.step] ?? false) }
                if !points.isEmpty { out.append(StepSeries(labels: s.labels, points: points)) }
            }
            return try StepSeriesOps.mergeEqualLabels(out)
        }
    }

    private func vectorVector(_ op: BinaryOperator, _ lhsIn: [StepSeries], _ rhsIn: [StepSeries], matching: VectorMatching,
                              returnBool: Bool) throws(PromQLError) -> [StepSeries] {
        let names = Set(matching.matchingLabels)
        // One-to-many is many-to-one with the sides swapped; values are swapped back below.
        let swapped = matching.cardinality == .oneToMany
        let lhs = swapped ? rhsIn : lhsIn, rhs = swapped ? lhsIn : rhsIn
        let lsig = lhs.map { signature($0.labels, matching, names) }
        var rightBySig: [Labels: [Int]] = [:]
        for (i, s) in rhs.enumerated() { rightBySig[signature(s.labels, matching, names), default: []].append(i) }
        // Per step: which right series holds each signature (duplicates are the many-to-many error).
        var rightAt: [Labels: [Int32]] = [:]
        for (sig, members) in rightBySig {
            var at = [Int32](repeating: -1, count: grid.count)
            for m in members {
                for p in rhs[m].points {
                    if at[p.step] >= 0 {
                        let other = rhs[Int(at[p.step])].labels
                        let group = matching.on ? rhs[m].labels.keeping(names) : rhs[m].labels.removing(names)
                        throw PromQLError(.execution, "found duplicate series for the match group \(group) on the \(swapped ? "left" : "right") hand-side of the operation: [\(rhs[m].labels), \(other)];many-to-many matching not allowed: matching labels must be unique on one side")
                    }
                    at[p.step] = Int32(m)
                }
            }
            rightAt[sig] = at
        }
        let include = matching.include
        var resultCache: [Int: [Int: Labels]] = [:]
        func resultLabels(_ li: Int, _ ri: Int) -> Labels {
            if let l = resultCache[li]?[ri] { return l }
            var labels = lhs[li].labels
            if op.dropsMetricName { labels = labels.droppingMetricName }
            if matching.cardinality == .oneToOne {
                labels = matching.on ? labels.keeping(names) : labels.removing(names)
            }
            let one = rhs[ri].labels
            for name in include { labels = labels.setting(name, one[name] ?? "") }
            if returnBool { labels = labels.droppingMetricName }
            resultCache[li, default: [:]][ri] = labels
            return labels
        }
        var outIndex: [Labels: Int] = [:]
        var out: [StepSeries] = []
        // Which (signature, step) pairs produced a result, to catch one-to-one duplicates, and
        // which result label sets, to catch many-to-one ones.
        var matchedOneToOne: [Labels: [Bool]] = [:]
        var resultAt: [Int: [Bool]] = [:]
        for (li, s) in lhs.enumerated() {
            try checkInterrupt()
            guard let at = rightAt[lsig[li]] else { continue }
            for p in s.points {
                let ri = Int(at[p.step])
                guard ri >= 0, let rp = value(of: rhs[ri], at: p.step) else { continue }
                let (vl, vr) = swapped ? (rp, p.value) : (p.value, rp)
                var (value, keep) = op.apply(vl, vr)
                if returnBool { value = keep ? 1 : 0 } else if !keep { continue }
                let labels = resultLabels(li, ri)
                if matching.cardinality == .oneToOne {
                    var steps = matchedOneToOne[lsig[li]] ?? [Bool](repeating: false, count: grid.count)
                    if steps[p.step] {
                        throw PromQLError(.execution, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                    }
                    steps[p.step] = true
                    matchedOneToOne[lsig[li]] = steps
                }
                let oi: Int
                if let i = outIndex[labels] { oi = i } else {
                    oi = out.count
                    outIndex[labels] = oi
                    out.append(StepSeries(labels: labels, points: []))
                }
                var steps = resultAt[oi] ?? [Bool](repeating: false, count: grid.count)
                if steps[p.step] {
                    if matching.cardinality == .oneToOne {
                        throw PromQLError(.execution, "vector cannot contain metrics with the same labelset")
                    }
                    throw PromQLError(.execution, "multiple matches for labels: grouping labels must ensure unique matches")
                }
                steps[p.step] = true
                resultAt[oi] = steps
                out[oi].points.append(StepPoint(step: p.step, value: value))
            }
        }
        for i in out.indices where out[i].points.count > 1 { out[i].points.sort { $0.step < $1.step } }
        return out.filter { !$0.points.isEmpty }
    }

    /// A series' value at a step, by binary search.
    @inline(__always) func value(of s: StepSeries, at step: Int) -> Double? {
        var lo = 0, hi = s.points.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if s.points[mid].step < step { lo = mid + 1 } else { hi = mid }
        }
        return lo < s.points.count && s.points[lo].step == step ? s.points[lo].value : nil
    }
}
