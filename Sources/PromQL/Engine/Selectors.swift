import TSDB

/// The series a range function reads: each with its samples, and the window each step sees.
struct RangeInput {
    enum Source {
        case stored([Series])
        case computed([[Sample]])
    }

    let labels: [Labels]
    let source: Source
    let range: Int64
    let offset: Int64
    let pinned: Int64?
    let grid: Grid
    /// The selector's matchers, for `absent_over_time`'s labels; nil for a subquery.
    let matchers: [Matcher]?

    var count: Int { labels.count }

    /// The last time of the window at `step`; the window is `[end - range, end]`.
    @inline(__always) func windowEnd(_ step: Int) -> Int64 { (pinned ?? grid.time(step)) &- offset }

    /// Series `i`'s samples in time order, staleness markers left out.
    func samples(_ i: Int, into buffer: inout [Sample]) throws(PromQLError) {
        buffer.removeAll(keepingCapacity: true)
        switch source {
        case .computed(let all):
            buffer.append(contentsOf: all[i])
        case .stored(let series):
            do throws(TSDBError) { try series[i].appendSamples(to: &buffer) } catch { throw PromQLError(.storage, error.description) }
            if buffer.contains(where: { isStaleNaN($0.value) }) { buffer.removeAll { isStaleNaN($0.value) } }
        }
    }

    /// The result of an instant query whose top level is this range vector.
    func rawMatrix(step: Int) throws(PromQLError) -> [PromQLSeries] {
        let end = windowEnd(step), start = end &- range
        return try Parallel.map(count) { (part) throws(PromQLError) -> [PromQLSeries] in
            var out: [PromQLSeries] = []
            var buffer: [Sample] = []
            for i in part {
                try samples(i, into: &buffer)
                let points = buffer.filter { $0.timestamp >= start && $0.timestamp <= end }
                if !points.isEmpty { out.append(PromQLSeries(labels: labels[i], points: points)) }
            }
            return out
        }
    }
}

extension Evaluator {
    /// Reads the series matching `matchers` over `[minTime, maxTime]`.
    func select(_ matchers: [Matcher], minTime: Int64, maxTime: Int64) throws(PromQLError) -> [Series] {
        do {
            return try storage.querier(minTime: minTime, maxTime: maxTime).select(matchers)
        } catch {
            throw PromQLError(.storage, error.description)
        }
    }

    /// An instant selector at every step: each series' newest sample at most `lookback`
    /// before the step (less the offset, or at the `@` time), unless that sample is a
    /// staleness marker. With `timestampValues` the value is the sample's time in seconds,
    /// what `timestamp()` returns.
    func vectorSelector(_ matchers: [Matcher], offset: Int64, at: AtModifier?, timestampValues: Bool) throws(PromQLError) -> [StepSeries] {
        let pinned = pinnedTime(at)
        let firstRef = (pinned ?? grid.start) &- offset
        let lastRef = (pinned ?? grid.end) &- offset
        let stored = try select(matchers, minTime: firstRef &- lookback, maxTime: lastRef)
        let startSamples = samples
        let out: [StepSeries] = try Parallel.map(stored.count) { (part) throws(PromQLError) -> [StepSeries] in
            var result: [StepSeries] = []
            var held = 0
            var buffer: [Sample] = []
            for index in part {
                let series = stored[index]
                try self.checkDeadline()
                buffer.removeAll(keepingCapacity: true)
                do throws(TSDBError) { try series.appendSamples(to: &buffer) } catch { throw PromQLError(.storage, error.description) }
                var points: [StepPoint] = []
                // `next` is the first sample after the step's time, so `next - 1` the newest at or before it.
                var next = 0
                if pinned != nil {
                    while next < buffer.count && buffer[next].timestamp <= firstRef { next += 1 }
                    if next > 0, case let l = buffer[next - 1], l.timestamp >= firstRef &- self.lookback, !isStaleNaN(l.value) {
                        let v = timestampValues ? Double(l.timestamp) / 1000 : l.value
                        points = (0..<self.grid.count).map { StepPoint(step: $0, value: v) }
                    }
                } else {
                    for step in 0..<self.grid.count {
                        let ref = self.grid.time(step) &- offset
                        while next < buffer.count && buffer[next].timestamp <= ref { next += 1 }
                        guard next > 0 else { continue }
                        let l = buffer[next - 1]
                        guard l.timestamp >= ref &- self.lookback, !isStaleNaN(l.value) else { continue }
                        points.append(StepPoint(step: step, value: timestampValues ? Double(l.timestamp) / 1000 : l.value))
                    }
                }
                guard !points.isEmpty else { continue }
                held += points.count
                if startSamples &+ held > self.options.maxSamples { throw PromQLError.tooManySamples() }
                result.append(StepSeries(labels: series.labels, points: points))
            }
            return result
        }
        try hold(out.reduce(0) { $0 + $1.points.count })
        // One sample read per series and step it has a point at.
        if let counter {
            if counter.keepsSteps {
                var perStep = [Int64](repeating: 0, count: grid.count)
                for s in out { for p in s.points { perStep[p.step] &+= 1 } }
                counter.add(total: perStep.reduce(0, &+), perStep: perStep)
            } else {
                counter.add(total: Int64(out.reduce(0) { $0 + $1.points.count }), perStep: nil)
            }
        }
        return out
    }

    /// The series a matrix selector reads, over the union of the windows of every step.
    func loadWindows(_ matchers: [Matcher], range: Int64, offset: Int64, at: AtModifier?) throws(PromQLError) -> RangeInput {
        let pinned = pinnedTime(at)
        let lastEnd = (pinned ?? grid.end) &- offset
        let firstStart = (pinned ?? grid.start) &- offset &- range
        let stored = try select(matchers, minTime: firstStart, maxTime: lastEnd)
        return RangeInput(labels: stored.map(\.labels), source: .stored(stored), range: range, offset: offset,
                          pinned: pinned, grid: grid, matchers: matchers)
    }

    /// A subquery: its expression evaluated on its own grid (aligned to multiples of its
    /// step, Prometheus's default of one minute when none is given), covering every window.
    /// What the expression reads goes to `counter`: under a function, nowhere, since the
    /// function counts the points of the windows instead.
    func subqueryWindows(_ inner: Expr, range: Int64, step: Int64, offset: Int64, at: AtModifier?,
                         counter: SampleCounter?) throws(PromQLError) -> RangeInput {
        let pinned = pinnedTime(at)
        let interval = step > 0 ? step : 60_000
        let from = (pinned ?? grid.start) &- offset &- range
        var start = interval &* (from / interval)
        if start < from { start &+= interval }
        let end = (pinned ?? grid.end) &- offset
        let subGrid = Grid(start: start, end: end, interval: interval)
        // Every step of the subquery's grid holds at least a value per scalar; a grid larger
        // than the sample limit (`x[1000000y:1s]`) is refused before anything is allocated.
        guard subGrid.count <= options.maxSamples else { throw PromQLError.tooManySamples() }
        let sub = child(grid: subGrid, counter: counter)
        let value = try sub.eval(inner)
        samples = sub.samples
        let series: [StepSeries]
        switch value {
        case .vector(let v): series = v
        case .scalar(let values):
            series = [StepSeries(labels: .empty, points: values.indices.map { StepPoint(step: $0, value: values[$0]) })]
        default: throw PromQLError(.execution, "subquery over \(inner) is not an instant vector or scalar")
        }
        let g = sub.grid
        let points = series.map { s in s.points.map { Sample(timestamp: g.time($0.step), value: $0.value) } }
        return RangeInput(labels: series.map(\.labels), source: .computed(points), range: range, offset: offset,
                          pinned: pinned, grid: grid, matchers: nil)
    }
}
