import Benchmark
import Foundation
import TSDB

/// A data directory holding one block of `seriesCount` series (4 samples each), cut from
/// the head through the public API, reopened so that queries read the block.
final class BlockFixture {
    let directory: URL
    let db: DB

    init(seriesCount: Int, blocks: Int = 1) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tsdb-block-benchmarks-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        let writer = try DB.open(directory: directory.path, options: HeadFixture.options)
        let labels = try HeadFixture.makeLabels(count: seriesCount, prefix: "")
        let hour: Int64 = 3_600_000
        // Each round spans 2 h of samples; the last round's 3.5 h step makes the head due.
        for round in 0..<blocks {
            for t in [0, hour, hour + hour / 2] {
                var app = try writer.appender()
                for l in labels { try app.append(l, timestamp: Int64(round) * 2 * hour + t, value: 1) }
                try app.commit()
            }
        }
        var app = try writer.appender()
        for l in labels { try app.append(l, timestamp: Int64(blocks) * 2 * hour + 2 * hour, value: 1) }
        try app.commit()
        try writer.compact()
        try writer.close()
        db = try DB.open(directory: directory.path, options: HeadFixture.options)
    }

    deinit {
        try? db.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

func registerBlockBenchmarks() {
    let fixture = try! BlockFixture(seriesCount: 100_000)
    let hour: Int64 = 3_600_000

    // One series by its full label set: four postings lists intersected, one index entry.
    Benchmark("Block select one series of 100k (equality matchers)", configuration: .init(scalingFactor: .one)) { benchmark in
        let matchers = try Selector.parse(#"node_cpu_seconds_total{instance="host-512:9100", cpu="7", mode="user"}"#)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try fixture.db.querier(minTime: 0, maxTime: 2 * hour).select(matchers))
        }
    }

    // 100 series of one instance: a small postings list against a 100k one.
    Benchmark("Block select 100 of 100k series (instance)", configuration: .init(scalingFactor: .one)) { benchmark in
        let matchers = try Selector.parse(#"node_cpu_seconds_total{instance="host-512:9100"}"#)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try fixture.db.querier(minTime: 0, maxTime: 2 * hour).select(matchers))
        }
    }

    // 1000 series by a regex set over cpu: a union of lists, then an intersection.
    Benchmark("Block select 1000 of 100k series (cpu=~set)", configuration: .init(scalingFactor: .one, maxDuration: .seconds(3))) { benchmark in
        let matchers = try Selector.parse(#"node_cpu_seconds_total{cpu=~"1|2|3|4|5|6|7|8|9|10"}"#)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try fixture.db.querier(minTime: 0, maxTime: 2 * hour).select(matchers))
        }
    }

    // Opening a directory of 20 blocks of 1000 series (and a small WAL).
    let many = try! BlockFixture(seriesCount: 1_000, blocks: 20)
    let manyPath = many.directory.path
    Benchmark("DB open with 20 blocks of 1000 series", configuration: .init(scalingFactor: .one, maxDuration: .seconds(3))) { benchmark in
        for _ in benchmark.scaledIterations {
            let db = try DB.open(directory: manyPath, options: HeadFixture.options)
            blackHole(db.blocks.count)
            try db.close()
        }
    }
}
