import Benchmark
import Foundation
import TSDB

/// A DB in a temporary directory with `seriesCount` series, each holding one sample, and
/// the state a scraper keeps between scrapes: the series' refs and the next timestamp.
final class HeadFixture {
    let directory: URL
    private(set) var db: DB
    let labels: [Labels]
    private(set) var refs: [SeriesRef] = []
    private(set) var timestamp = Fixtures.startTime
    private(set) var value = 1.0

    init(seriesCount: Int, createSeries: Bool = true) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tsdb-benchmarks-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        db = try DB.open(directory: directory.path, options: HeadFixture.options)
        labels = try HeadFixture.makeLabels(count: seriesCount, prefix: "")
        if createSeries {
            var app = try db.appender()
            refs = try labels.map { try app.append($0, timestamp: timestamp, value: value) }
            try app.commit()
        }
    }

    /// node-exporter-like label sets: a metric name and five more labels.
    static func makeLabels(count: Int, prefix: String) throws -> [Labels] {
        try (0..<count).map { i in
            try Labels([
                "__name__": "node_cpu_seconds_total", "job": "node", "instance": "\(prefix)host-\(i / 100):9100",
                "cpu": "\(i % 100)", "mode": "user", "env": "prod",
            ])
        }
    }

    /// Moves to the next scrape: 30 s later, every counter a little higher.
    func nextScrape() -> (timestamp: Int64, value: Double) {
        timestamp += Fixtures.scrapeInterval
        value += 1.25
        return (timestamp, value)
    }

    /// The head alone: no background compaction moving data into blocks mid-measurement.
    static var options: Options {
        var o = Options()
        o.compactionEnabled = false
        // Head cuts only: the block fixtures keep their 2 h blocks unmerged.
        o.maxBlockDuration = o.blockRange
        return o
    }

    /// Replaces the DB with an empty one in the same directory (the old head is freed, and
    /// its WAL removed so that nothing is replayed).
    func reopenEmpty() throws {
        try db.close()
        try FileManager.default.removeItem(at: directory)
        db = try DB.open(directory: directory.path, options: HeadFixture.options)
        refs = []
    }

    func remove() throws {
        try db.close()
        try FileManager.default.removeItem(at: directory)
    }
}

/// Head appends through the public API. Each iteration is one transaction of 1000 samples,
/// one per series (`scalingFactor: .kilo`): the default output is scaled to one sample, and
/// throughput is in samples per second. `--scale` shows whole transactions instead.
func registerHeadBenchmarks() {
    let seriesCount = 1_000
    nonisolated(unsafe) var fixture: HeadFixture!

    /// Per-benchmark setup builds a fresh fixture; teardown deletes its directory.
    func perSample(createSeries: Bool = true) -> Benchmark.Configuration {
        Benchmark.Configuration(
            scalingFactor: .kilo,
            setup: { fixture = try HeadFixture(seriesCount: seriesCount, createSeries: createSeries) },
            teardown: {
                try fixture.remove()
                fixture = nil
            })
    }

    // The hot path: a scraper that kept its refs. Appends only; commit runs unmeasured.
    Benchmark("Head append(ref) ×1000, no commit", configuration: perSample()) { benchmark in
        let (t, v) = fixture.nextScrape()
        var app = try fixture.db.appender()
        benchmark.startMeasurement()
        for ref in fixture.refs { try app.append(ref, timestamp: t, value: v) }
        benchmark.stopMeasurement()
        try app.commit()
    }

    // The same plus commit: what one scrape of 1000 series costs end to end.
    Benchmark("Head append(ref) ×1000 + commit", configuration: perSample()) { benchmark in
        let (t, v) = fixture.nextScrape()
        benchmark.startMeasurement()
        var app = try fixture.db.appender()
        for ref in fixture.refs { try app.append(ref, timestamp: t, value: v) }
        try app.commit()
    }

    // A scraper without a ref cache: every sample hashes its labels and finds its series.
    Benchmark("Head append(labels) ×1000 existing series + commit", configuration: perSample()) { benchmark in
        let (t, v) = fixture.nextScrape()
        benchmark.startMeasurement()
        var app = try fixture.db.appender()
        for labels in fixture.labels { try app.append(labels, timestamp: t, value: v) }
        try app.commit()
    }

    // Series creation: 1000 new label sets into an empty head, which is replaced unmeasured
    // before every iteration so the series count (and memory) stays bounded.
    Benchmark("Head append(labels) ×1000 new series + commit", configuration: perSample(createSeries: false)) { benchmark in
        try fixture.reopenEmpty()
        let (t, v) = fixture.nextScrape()
        benchmark.startMeasurement()
        var app = try fixture.db.appender()
        for labels in fixture.labels { try app.append(labels, timestamp: t, value: v) }
        try app.commit()
    }
}
