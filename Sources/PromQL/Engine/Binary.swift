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
                let count = grid.count
                for p in s.points { m[sigs[i], default: [Bool](repeating: false, count: count)][p.step] = true }
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
        // Signatures as small integers, computed once per series.
        var sigIds: [Labels: Int] = [:]
        func sigId(_ labels: Labels) -> Int {
            let sig = signature(labels, matching, names)
            if let id = sigIds[sig] { return id }
            sigIds[sig] = sigIds.count
            return sigIds.count - 1
        }
        let rsig = rhs.map { sigId($0.labels) }
        let lsig = lhs.map { sigId($0.labels) }
        // Per signature and step, the right series holding it (two are the many-to-many error).
        var rightAt = [[Int32]](repeating: [], count: sigIds.count)
        for (m, s) in rhs.enumerated() {
            if rightAt[rsig[m]].isEmpty { rightAt[rsig[m]] = [Int32](repeating: -1, count: grid.count) }
            for p in s.points {
                let held = rightAt[rsig[m]][p.step]
                if held >= 0 {
                    let other = rhs[Int(held)].labels
                    let group = matching.on ? s.labels.keeping(names) : s.labels.removing(names)
                    throw PromQLError(.execution, "found duplicate series for the match group \(group) on the \(swapped ? "left" : "right") hand-side of the operation: [\(s.labels), \(other)];many-to-many matching not allowed: matching labels must be unique on one side")
                }
                rightAt[rsig[m]][p.step] = Int32(m)
            }
        }
        // One-to-one: a signature two left series share may match only once per step.
        var leftCount = [Int](repeating: 0, count: sigIds.count)
        for id in lsig { leftCount[id] += 1 }
        var matchedSteps: [Int: [Bool]] = [:]
        var outIndex: [Labels: Int] = [:]
        var out: [StepSeries] = []
        // The left series that fed each output, and the steps of those fed by several.
        var feeder: [Int] = []
        var fedSteps: [Int: [Bool]] = [:]
        for (li, s) in lhs.enumerated() {
            try checkInterrupt()
            let at = rightAt[lsig[li]]
            guard !at.isEmpty else { continue }
            var lastRight = -1, lastOut = -1
            for p in s.points {
                let ri = Int(at[p.step])
                guard ri >= 0, let rv = value(of: rhs[ri], at: p.step) else { continue }
                let (vl, vr) = swapped ? (rv, p.value) : (p.value, rv)
                var (value, keep) = op.apply(vl, vr)
                if returnBool { value = keep ? 1 : 0 } else if !keep { continue }
                if matching.cardinality == .oneToOne && leftCount[lsig[li]] > 1 {
                    let id = lsig[li]
                    if matchedSteps[id]?[p.step] == true {
                        throw PromQLError(.execution, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                    }
                    matchedSteps[id, default: [Bool](repeating: false, count: grid.count)][p.step] = true
                }
                if ri != lastRight {
                    lastRight = ri
                    let labels = resultLabels(op, lhs[li].labels, rhs[ri].labels, matching, names, returnBool: returnBool)
                    if let i = outIndex[labels] { lastOut = i } else {
                        lastOut = out.count
                        outIndex[labels] = lastOut
                        out.append(StepSeries(labels: labels, points: []))
                        feeder.append(li)
                    }
                    if feeder[lastOut] != li && fedSteps[lastOut] == nil {
                        var steps = [Bool](repeating: false, count: grid.count)
                        for q in out[lastOut].points { steps[q.step] = true }
                        fedSteps[lastOut] = steps
                    }
                }
                if fedSteps[lastOut] != nil {
                    if fedSteps[lastOut]?[p.step] == true {
                        if matching.cardinality == .oneToOne {
                            throw PromQLError(.execution, "vector cannot contain metrics with the same labelset")
                        }
                        throw PromQLError(.execution, "multiple matches for labels: grouping labels must ensure unique matches")
                    }
                    fedSteps[lastOut]?[p.step] = true
                }
                out[lastOut].points.append(StepPoint(step: p.step, value: value))
            }
        }
        for i in out.indices where fedSteps[i] != nil { out[i].points.sort { $0.step < $1.step } }
        return out.filter { !$0.points.isEmpty }
    }

    /// Prometheus's `resultMetric`: the left (many) side's labels, less the name for
    /// arithmetic, cut to the matching labels for one-to-one, plus `group_x` labels from the one side.
    private func resultLabels(_ op: BinaryOperator, _ left: Labels, _ right: Labels, _ matching: VectorMatching,
                              _ names: Set<String>, returnBool: Bool) -> Labels {
        var labels = left
        if op.dropsMetricName || returnBool { labels = labels.droppingMetricName }
        if matching.cardinality == .oneToOne {
            labels = matching.on ? labels.keeping(names) : labels.removing(names)
        }
        for name in matching.include { labels = labels.setting(name, right[name] ?? "") }
        return labels
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
