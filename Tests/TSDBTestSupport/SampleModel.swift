import Testing
import TSDB

/// The plain model the property and lifecycle tests compare queries with: every series'
/// samples in time order.
public typealias SampleModel = [Labels: [Sample]]

public enum ModelQuery {
    /// What selecting `matchers` over `[minTime, maxTime]` must return from `model`: the
    /// matching series with samples in range, sorted by labels.
    public static func select(_ model: SampleModel, _ matchers: [Matcher], minTime: Int64, maxTime: Int64) -> [(labels: Labels, samples: [Sample])] {
        var out: [(labels: Labels, samples: [Sample])] = []
        for (l, samples) in model where matchers.allSatisfy({ $0.matches(l[$0.name] ?? "") }) {
            let inRange = samples.filter { $0.timestamp >= minTime && $0.timestamp <= maxTime }
            if !inRange.isEmpty { out.append((l, inRange)) }
        }
        out.sort { $0.labels < $1.labels }
        return out
    }

    /// The first difference between what a query returned and what the model expects, or nil
    /// when they agree.
    public static func difference(_ got: [Series], _ expected: [(labels: Labels, samples: [Sample])]) -> String? {
        guard got.map(\.labels) == expected.map(\.labels) else {
            return "series differ: got \(got.count), expected \(expected.count)"
        }
        for (g, e) in zip(got, expected) where g.samples != e.samples {
            return "samples differ for \(g.labels): got \(g.samples.count), expected \(e.samples.count)"
        }
        return nil
    }

    /// ``difference(_:_:)`` of everything `selector` finds in `db` against all of `model`.
    public static func difference(_ db: DB, _ model: SampleModel, selector: String = "m") throws -> String? {
        let matchers = try Selector.parse(selector)
        let got = try db.querier(minTime: .min, maxTime: .max).select(matchers)
        return difference(got, select(model, matchers, minTime: .min, maxTime: .max))
    }

    /// Records a test issue, prefixed by `context`, when `db` does not hold exactly `model`.
    public static func expect(_ db: DB, _ model: SampleModel, _ context: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let d = try difference(db, model) { Issue.record("\(context): \(d)", sourceLocation: sourceLocation) }
    }
}

public enum RandomScrape {
    /// One random transaction at about `t`: about two thirds of `series` get a sample at
    /// `t` plus up to a second, with an interesting value, unless that would not be newer
    /// than the series' last sample. Each sample appended also goes into `model`.
    public static func append(_ db: DB, series: [Labels], at t: Int64, model: inout SampleModel, rng: inout SeededRandom) throws {
        var app = try db.appender()
        for l in series where rng.next() % 3 != 0 {
            let s = Sample(timestamp: t + Int64(rng.next() % 1_000), value: InterestingValues.random(using: &rng))
            if let last = model[l]?.last?.timestamp, s.timestamp <= last { continue }
            try app.append(l, timestamp: s.timestamp, value: s.value)
            model[l, default: []].append(s)
        }
        try app.commit()
    }
}
