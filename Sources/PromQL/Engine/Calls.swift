import Synchronization
import TSDB

extension Evaluator {
    func call(_ f: PromQLFunction, _ args: [Expr]) throws(PromQLError) -> EvalValue {
        if f.name == "absent_over_time" { return try rangeFunction(nil, f, args) }
        if let rf = RangeFunction(name: f.name) { return try rangeFunction(rf, f, args) }
        switch f.name {
        case "time":
            return .scalar((0..<grid.count).map { Double(grid.time($0)) / 1000 })
        case "pi":
            return .scalar([Double](repeating: .pi, count: grid.count))
        case "vector":
            let v = try scalarValues(args[0])
            return .vector([StepSeries(labels: .empty, points: v.indices.map { StepPoint(step: $0, value: v[$0]) })])
        case "scalar":
            let series = try vectorValue(args[0])
            var values = [Double](repeating: .nan, count: grid.count)
            var counts = [Int](repeating: 0, count: grid.count)
            for s in series { for p in s.points { counts[p.step] += 1; values[p.step] = p.value } }
            for i in values.indices where counts[i] != 1 { values[i] = .nan }
            return .scalar(values)
        case "timestamp":
            var inner = args[0]
            while case .paren(let e) = inner { inner = e }
            let series: [StepSeries]
            if case let .vectorSelector(_, matchers, offset, at) = inner {
                series = try vectorSelector(matchers, offset: offset, at: at, timestampValues: true)
            } else {
                series = try vectorValue(args[0]).map { s in
                    StepSeries(labels: s.labels, points: s.points.map { StepPoint(step: $0.step, value: Double(grid.time($0.step)) / 1000) })
                }
            }
            return .vector(try StepSeriesOps.mergeEqualLabels(series.map { StepSeries(labels: $0.labels.droppingMetricName, points: $0.points) }))
        case "absent":
            return try absent(args[0])
        case "sort", "sort_desc":
            var series = try vectorValue(args[0])
            // Only an instant query's order can change; a range query's result is sorted by labels.
            if grid.count == 1 {
                let desc = f.name == "sort_desc"
                series.sort { a, b in
                    let x = a.points.first?.value ?? .nan, y = b.points.first?.value ?? .nan
                    if x.isNaN { return false }
                    if y.isNaN { return true }
                    return desc ? x > y : x < y
                }
            }
            return .vector(series)
        case "label_replace":
            let replace = try LabelReplace(destination: try stringValue(args[1]), replacement: try stringValue(args[2]),
                                           source: try stringValue(args[3]), regex: try stringValue(args[4]))
            let series = try vectorValue(args[0])
            return .vector(try StepSeriesOps.mergeEqualLabels(series.map { StepSeries(labels: replace.apply($0.labels), points: $0.points) }))
        case "label_join":
            var sources: [String] = []
            for a in args.dropFirst(3) { sources.append(try stringValue(a)) }
            let join = try LabelJoin(destination: try stringValue(args[1]), separator: try stringValue(args[2]), sources: sources)
            let series = try vectorValue(args[0])
            return .vector(try StepSeriesOps.mergeEqualLabels(series.map { StepSeries(labels: join.apply($0.labels), points: $0.points) }))
        case "histogram_quantile":
            return try histogramQuantile(try scalarValues(args[0]), try vectorValue(args[1]))
        case "clamp":
            let series = try vectorValue(args[0])
            let lo = try scalarValues(args[1]), hi = try scalarValues(args[2])
            return try mapValues(series) { v, step in lo[step] > hi[step] ? nil : goMax(lo[step], goMin(hi[step], v)) }
        case "clamp_min":
            let series = try vectorValue(args[0])
            let lo = try scalarValues(args[1])
            return try mapValues(series) { v, step in goMax(v, lo[step]) }
        case "clamp_max":
            let series = try vectorValue(args[0])
            let hi = try scalarValues(args[1])
            return try mapValues(series) { v, step in goMin(v, hi[step]) }
        case "round":
            let series = try vectorValue(args[0])
            let to = args.count > 1 ? try scalarValues(args[1]) : [Double](repeating: 1, count: grid.count)
            return try mapValues(series) { v, step in InstantFunctions.round(v, toNearest: to[step]) }
        default:
            break
        }
        if let fn = InstantFunctions.simple(f.name) {
            return try mapValues(try vectorValue(args[0])) { v, _ in fn(v) }
        }
        if let fn = InstantFunctions.date(f.name) {
            if args.isEmpty {
                return .vector([StepSeries(labels: .empty, points: (0..<grid.count).map {
                    StepPoint(step: $0, value: fn(Double(grid.time($0)) / 1000))
                })])
            }
            return try mapValues(try vectorValue(args[0])) { v, _ in fn(v) }
        }
        throw PromQLError(.execution, "function \(goQuote(f.name)) is not supported")
    }

    /// A value-by-value function that drops the metric name; `transform` returning nil drops the point.
    func mapValues(_ series: [StepSeries], _ transform: (Double, Int) -> Double?) throws(PromQLError) -> EvalValue {
        var out: [StepSeries] = []
        out.reserveCapacity(series.count)
        for s in series {
            var points: [StepPoint] = []
            points.reserveCapacity(s.points.count)
            for p in s.points { if let v = transform(p.value, p.step) { points.append(StepPoint(step: p.step, value: v)) } }
            if !points.isEmpty { out.append(StepSeries(labels: s.labels.droppingMetricName, points: points)) }
        }
        return .vector(try StepSeriesOps.mergeEqualLabels(out))
    }

    /// The labels `absent` and `absent_over_time` give, as Prometheus 2.42 builds them: each
    /// name's first equality matcher sets it; any later matcher of that name, or a first one
    /// that is not an equality, removes it. `__name__` never.
    static func absentLabels(_ matchers: [Matcher]?) -> Labels {
        guard let matchers else { return .empty }
        var set: [String: String] = [:]
        var has = Set<String>()
        for m in matchers where m.name != "__name__" {
            if m.kind == .equal && !has.contains(m.name) {
                set[m.name] = m.value
                has.insert(m.name)
            } else {
                set[m.name] = nil
            }
        }
        let labels = set.filter { !$0.value.isEmpty }.map { Label(name: $0.key, value: $0.value) }
            .sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        return Labels(uncheckedSorted: labels)
    }

    func absent(_ arg: Expr) throws(PromQLError) -> EvalValue {
        let series = try vectorValue(arg)
        var present = [Bool](repeating: false, count: grid.count)
        for s in series { for p in s.points { present[p.step] = true } }
        var inner = arg
        while case .paren(let e) = inner { inner = e }
        var matchers: [Matcher]? = nil
        if case let .vectorSelector(_, m, _, _) = inner { matchers = m }
        let points = present.indices.filter { !present[$0] }.map { StepPoint(step: $0, value: 1) }
        return .vector(points.isEmpty ? [] : [StepSeries(labels: Self.absentLabels(matchers), points: points)])
    }

    /// A function of a range vector: each series' window at each step.
    /// `rf` nil is `absent_over_time`.
    func rangeFunction(_ function: RangeFunction?, _ f: PromQLFunction, _ args: [Expr]) throws(PromQLError) -> EvalValue {
        // The range vector is the only matrix-typed argument; the rest are scalars.
        var matrixIndex = 0
        for (i, a) in args.enumerated() where Parser.type(of: a) == .matrix { matrixIndex = i }
        var params: [[Double]] = []
        for (i, a) in args.enumerated() where i != matrixIndex { params.append(try scalarValues(a)) }
        var arg = args[matrixIndex]
        while case .paren(let e) = arg { arg = e }
        let input: RangeInput
        switch arg {
        case let .matrixSelector(.vectorSelector(_, matchers, offset, at), range):
            input = try loadWindows(matchers, range: range, offset: offset, at: at)
        case let .subquery(inner, range, step, offset, at):
            input = try subqueryWindows(inner, range: range, step: step, offset: offset, at: at, counter: nil)
        default:
            throw PromQLError(.execution, "expected a range vector in call to \(goQuote(f.name)), got \(arg)")
        }
        guard let rf = function else { return try absentOverTime(input) }
        let keepName = rf.keepsMetricName
        let startSamples = samples
        // The most samples one series' windows held, for the stats' peak.
        let largestBuffer = Atomic<Int>(0)
        // Series at a time, on every core: each part decodes its series and slides the windows.
        let out: [StepSeries] = try Parallel.map(input.count) { (part) throws(PromQLError) -> [StepSeries] in
            var result: [StepSeries] = []
            var buffer: [Sample] = []
            var stepParams = [Double](repeating: 0, count: params.count)
            var held = 0
            // Samples in the windows, as Prometheus's stats count them.
            var read: Int64 = 0
            var readPerStep: [Int64]? = self.counter?.keepsSteps == true ? [Int64](repeating: 0, count: grid.count) : nil
            var largest = 0
            defer {
                self.counter?.add(total: read, perStep: readPerStep)
                largestBuffer.max(largest, ordering: .relaxed)
            }
            for i in part {
                try self.checkDeadline()
                try input.samples(i, into: &buffer)
                if buffer.isEmpty { continue }
                largest = max(largest, buffer.count)
                var points: [StepPoint] = []
                points.reserveCapacity(min(grid.count, buffer.count + 1))
                var lo = 0, hi = 0
                for step in 0..<grid.count {
                    let end = input.windowEnd(step), start = end &- input.range
                    // Windows move forward with the steps (or stay put under `@`).
                    if input.pinned != nil { lo = 0; hi = 0 }
                    while lo < buffer.count && buffer[lo].timestamp < start { lo += 1 }
                    if hi < lo { hi = lo }
                    while hi < buffer.count && buffer[hi].timestamp <= end { hi += 1 }
                    guard hi > lo else { continue }
                    read &+= Int64(hi - lo)
                    if readPerStep != nil { readPerStep![step] &+= Int64(hi - lo) }
                    for k in params.indices { stepParams[k] = params[k][step] }
                    // Prometheus checks the factors on each call, so only where a window has samples.
                    if rf == .holtWinters, let e = RangeFunction.validateHoltWinters(sf: stepParams[0], tf: stepParams[1]) { throw e }
                    if let v = rf.evaluate(buffer[lo..<hi], rangeStart: start, rangeEnd: end, evalTime: self.grid.time(step), params: stepParams) {
                        points.append(StepPoint(step: step, value: v))
                    }
                }
                guard !points.isEmpty else { continue }
                held += points.count
                if startSamples &+ held > self.options.maxSamples { throw PromQLError.tooManySamples() }
                result.append(StepSeries(labels: keepName ? input.labels[i] : input.labels[i].droppingMetricName, points: points))
            }
            return result
        }
        // Peak: every result point and, at worst, the largest series' samples besides.
        stats?.updatePeak(samples &+ out.reduce(0) { $0 + $1.points.count } &+ largestBuffer.load(ordering: .relaxed))
        try hold(out.reduce(0) { $0 + $1.points.count })
        try StepSeriesOps.checkUniqueLabels(out)
        return .vector(out)
    }

    func absentOverTime(_ input: RangeInput) throws(PromQLError) -> EvalValue {
        var present = [Bool](repeating: false, count: grid.count)
        var buffer: [Sample] = []
        var read: Int64 = 0
        var readPerStep: [Int64]? = counter?.keepsSteps == true ? [Int64](repeating: 0, count: grid.count) : nil
        for i in 0..<input.count {
            try input.samples(i, into: &buffer)
            stats?.updatePeak(samples &+ buffer.count)
            var lo = 0, hi = 0
            // Each window's samples, counted as for any range function.
            for step in 0..<grid.count {
                let end = input.windowEnd(step), start = end &- input.range
                if input.pinned != nil { lo = 0; hi = 0 }
                while lo < buffer.count && buffer[lo].timestamp < start { lo += 1 }
                if hi < lo { hi = lo }
                while hi < buffer.count && buffer[hi].timestamp <= end { hi += 1 }
                guard hi > lo else { continue }
                present[step] = true
                read &+= Int64(hi - lo)
                if readPerStep != nil { readPerStep![step] &+= Int64(hi - lo) }
            }
        }
        counter?.add(total: read, perStep: readPerStep)
        let points = present.indices.filter { !present[$0] }.map { StepPoint(step: $0, value: 1) }
        return .vector(points.isEmpty ? [] : [StepSeries(labels: Self.absentLabels(input.matchers), points: points)])
    }
}

/// Go's `math.Max`: +Inf wins, then NaN, and +0 over -0.
@inline(__always) func goMax(_ a: Double, _ b: Double) -> Double {
    if a == .infinity || b == .infinity { return .infinity }
    if a.isNaN || b.isNaN { return .nan }
    if a == 0 && b == 0 { return a.sign == .minus ? b : a }
    return a > b ? a : b
}

/// Go's `math.Min`: -Inf wins, then NaN, and -0 over +0.
@inline(__always) func goMin(_ a: Double, _ b: Double) -> Double {
    if a == -.infinity || b == -.infinity { return -.infinity }
    if a.isNaN || b.isNaN { return .nan }
    if a == 0 && b == 0 { return a.sign == .minus ? a : b }
    return a < b ? a : b
}
