import Exposition
import TSDB

extension Evaluator {
    func aggregate(_ op: String, _ inner: Expr, parameter: Expr?, grouping: [String], without: Bool) throws(PromQLError) -> EvalValue {
        var param: [Double] = []
        var label = ""
        if op == "count_values", let parameter {
            label = try stringValue(parameter)
            guard Labels.isValidName(label) else { throw PromQLError(.execution, "invalid label name \(goQuote(label))") }
        } else if let parameter {
            param = try scalarValues(parameter)
        }
        let series = try vectorValue(inner)
        let names = Set(grouping)
        // Each input series' group, computed once for all steps.
        var groupIndex: [Labels: Int] = [:]
        var groupLabels: [Labels] = []
        var groupOf = [Int](repeating: 0, count: series.count)
        for (i, s) in series.enumerated() {
            let key = without ? s.labels.removing(names).droppingMetricName : s.labels.keeping(names)
            if let g = groupIndex[key] { groupOf[i] = g } else {
                groupOf[i] = groupLabels.count
                groupIndex[key] = groupLabels.count
                groupLabels.append(key)
            }
        }
        switch op {
        case "topk", "bottomk": return .vector(try selectK(op == "topk", series, groupOf, groupLabels.count, param))
        case "count_values":
            // Under `without`, a value label that is also a `without` label is dropped again.
            let keepLabel = !(without && names.contains(label))
            return .vector(try countValues(series, groupOf, groupLabels, keepLabel ? label : nil))
        case "quantile": return .vector(try quantile(series, groupOf, groupLabels, param))
        default: break
        }
        guard let kind = Accumulator.Kind(rawValue: op) else { throw PromQLError(.execution, "unknown aggregation \(op)") }
        // Steps walked in order; every series keeps a cursor into its points.
        var acc = [Accumulator](repeating: Accumulator(), count: groupLabels.count)
        var out = groupLabels.map { StepSeries(labels: $0, points: []) }
        // Group order at an instant query is the order groups first appear in the input.
        var cursors = [Int](repeating: 0, count: series.count)
        for step in 0..<grid.count {
            try checkInterrupt()
            for (i, s) in series.enumerated() {
                let c = cursors[i]
                guard c < s.points.count, s.points[c].step == step else { continue }
                cursors[i] = c + 1
                acc[groupOf[i]].add(s.points[c].value, kind)
            }
            for g in acc.indices where acc[g].count > 0 {
                out[g].points.append(StepPoint(step: step, value: acc[g].result(kind)))
                acc[g] = Accumulator()
            }
        }
        let result = out.filter { !$0.points.isEmpty }
        try hold(result.reduce(0) { $0 + $1.points.count })
        return .vector(result)
    }

    private func selectK(_ top: Bool, _ series: [StepSeries], _ groupOf: [Int], _ groups: Int, _ param: [Double]) throws(PromQLError) -> [StepSeries] {
        var chosen = [[StepPoint]](repeating: [], count: series.count)
        var cursors = [Int](repeating: 0, count: series.count)
        var members = [[(index: Int, value: Double)]](repeating: [], count: groups)
        // At an instant query the result is in the order Prometheus gives: group by group, best first.
        var instantOrder: [Int] = []
        for step in 0..<grid.count {
            try checkInterrupt()
            let f = param.isEmpty ? 1 : param[step]
            // Go's convertibleToInt64: NaN and anything beyond ±2⁶³ are refused.
            guard f >= -9_223_372_036_854_775_808.0, f < 9_223_372_036_854_775_808.0 else {
                throw PromQLError(.execution, "Scalar value \(GoFormat.float(f)) overflows int64")
            }
            let k = Int(f)
            for g in members.indices { members[g].removeAll(keepingCapacity: true) }
            var groupOrder: [Int] = []
            for (i, s) in series.enumerated() {
                let c = cursors[i]
                guard c < s.points.count, s.points[c].step == step else { continue }
                cursors[i] = c + 1
                if members[groupOf[i]].isEmpty { groupOrder.append(groupOf[i]) }
                members[groupOf[i]].append((i, s.points[c].value))
            }
            guard k >= 1 else { continue }
            for g in groupOrder {
                // Best first; NaN counts as the worst either way, as in Prometheus's heaps.
                members[g].sort { a, b in
                    if a.value.isNaN { return false }
                    if b.value.isNaN { return true }
                    return top ? a.value > b.value : a.value < b.value
                }
                for m in members[g].prefix(k) {
                    chosen[m.index].append(StepPoint(step: step, value: m.value))
                    if grid.count == 1 { instantOrder.append(m.index) }
                }
            }
        }
        if grid.count == 1 {
            return instantOrder.map { StepSeries(labels: series[$0].labels, points: chosen[$0]) }
        }
        var out: [StepSeries] = []
        for (i, s) in series.enumerated() where !chosen[i].isEmpty { out.append(StepSeries(labels: s.labels, points: chosen[i])) }
        return out
    }

    private func countValues(_ series: [StepSeries], _ groupOf: [Int], _ groupLabels: [Labels], _ label: String?) throws(PromQLError) -> [StepSeries] {
        var index: [Labels: Int] = [:]
        var out: [StepSeries] = []
        var cursors = [Int](repeating: 0, count: series.count)
        for step in 0..<grid.count {
            try checkInterrupt()
            var counts: [Int: Double] = [:]
            var order: [Int] = []
            for (i, s) in series.enumerated() {
                let c = cursors[i]
                guard c < s.points.count, s.points[c].step == step else { continue }
                cursors[i] = c + 1
                let group = groupLabels[groupOf[i]]
                let labels = label.map { group.setting($0, GoFormat.fixed(s.points[c].value)) } ?? group
                let oi: Int
                if let x = index[labels] { oi = x } else {
                    oi = out.count
                    index[labels] = oi
                    out.append(StepSeries(labels: labels, points: []))
                }
                if counts[oi] == nil { order.append(oi) }
                counts[oi, default: 0] += 1
            }
            for oi in order { out[oi].points.append(StepPoint(step: step, value: counts[oi] ?? 0)) }
        }
        return out
    }

    private func quantile(_ series: [StepSeries], _ groupOf: [Int], _ groupLabels: [Labels], _ param: [Double]) throws(PromQLError) -> [StepSeries] {
        var out = groupLabels.map { StepSeries(labels: $0, points: []) }
        var values = [[Double]](repeating: [], count: groupLabels.count)
        var cursors = [Int](repeating: 0, count: series.count)
        for step in 0..<grid.count {
            try checkInterrupt()
            for (i, s) in series.enumerated() {
                let c = cursors[i]
                guard c < s.points.count, s.points[c].step == step else { continue }
                cursors[i] = c + 1
                values[groupOf[i]].append(s.points[c].value)
            }
            for g in values.indices where !values[g].isEmpty {
                out[g].points.append(StepPoint(step: step, value: Statistics.quantile(param[step], &values[g])))
                values[g].removeAll(keepingCapacity: true)
            }
        }
        return out.filter { !$0.points.isEmpty }
    }

    /// `histogram_quantile(φ, buckets)`: the buckets of each series less `le` (and the name) at each step.
    func histogramQuantile(_ q: [Double], _ series: [StepSeries]) throws(PromQLError) -> EvalValue {
        var groupIndex: [Labels: Int] = [:]
        var groups: [Labels] = []
        var groupOf = [Int](repeating: -1, count: series.count)
        var bound = [Double](repeating: 0, count: series.count)
        for (i, s) in series.enumerated() {
            guard let le = s.labels["le"],
                  let b = TextParser.parseGoFloat(le) else { continue }
            bound[i] = b
            // Grouped by everything but `le`, the name included; the name is dropped after, so
            // two histograms apart only by name collide, Prometheus's duplicate-labelset error.
            let key = Labels(uncheckedSorted: s.labels.filter { $0.name != "le" })
            if let g = groupIndex[key] { groupOf[i] = g } else {
                groupOf[i] = groups.count
                groupIndex[key] = groups.count
                groups.append(key)
            }
        }
        var out = groups.map { StepSeries(labels: $0, points: []) }
        var buckets = [[(upperBound: Double, count: Double)]](repeating: [], count: groups.count)
        var cursors = [Int](repeating: 0, count: series.count)
        for step in 0..<grid.count {
            try checkInterrupt()
            for (i, s) in series.enumerated() {
                let c = cursors[i]
                guard c < s.points.count, s.points[c].step == step else { continue }
                cursors[i] = c + 1
                guard groupOf[i] >= 0 else { continue }
                buckets[groupOf[i]].append((bound[i], s.points[c].value))
            }
            for g in buckets.indices where !buckets[g].isEmpty {
                out[g].points.append(StepPoint(step: step, value: HistogramQuantile.quantile(q[step], buckets: buckets[g])))
                buckets[g].removeAll(keepingCapacity: true)
            }
        }
        let result = out.filter { !$0.points.isEmpty }.map { StepSeries(labels: $0.labels.droppingMetricName, points: $0.points) }
        return .vector(try StepSeriesOps.mergeEqualLabels(result))
    }
}

/// One group's running aggregate at one step, with Prometheus 2.42's arithmetic.
struct Accumulator {
    enum Kind: String { case sum, min, max, avg, group, stddev, stdvar, count }

    var count = 0
    var value = 0.0
    var mean = 0.0

    @inline(__always) mutating func add(_ v: Double, _ kind: Kind) {
        count += 1
        if count == 1 {
            value = kind == .stddev || kind == .stdvar ? 0 : v
            mean = v
            return
        }
        switch kind {
        case .sum: value += v
        case .min: if value > v || value.isNaN { value = v }
        case .max: if value < v || value.isNaN { value = v }
        case .avg:
            if mean.isInfinite {
                if v.isInfinite && (mean > 0) == (v > 0) { return }
                if !v.isInfinite && !v.isNaN { return }
            }
            let n = Double(count)
            mean += v / n - mean / n
        case .stddev, .stdvar:
            let delta = v - mean
            mean += delta / Double(count)
            value += delta * (v - mean)
        case .group, .count: break
        }
    }

    func result(_ kind: Kind) -> Double {
        switch kind {
        case .sum, .min, .max: value
        case .avg: mean
        case .group: 1
        case .count: Double(count)
        case .stdvar: value / Double(count)
        case .stddev: (value / Double(count)).squareRoot()
        }
    }
}
