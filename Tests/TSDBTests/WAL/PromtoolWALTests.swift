import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Compatibility of the WAL both ways, with Prometheus's own tools as the oracle.
@Suite(.heavy) struct PromtoolWALTests {
    let dataset = Repository.path("Fixtures/node-exporter/series-10k.jsonl")

    /// `tsdb-bench write` leaves its data in the WAL only; `promtool tsdb dump` must print
    /// exactly the samples the workload formula gives, for exactly the same series.
    @Test(.enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
    func prometheusReadsOurWAL() throws {
        try TemporaryDirectory.with { dir in
            try Command.run(try Products.path("tsdb-bench"), ["write", "--out", dir, "--metrics", "2000", "--scrapes", "200", dataset])
            let dump = try Promtool.run(["tsdb", "dump", dir + "/storage"])
            var got: [String: [(Int64, Double)]] = [:]
            for line in dump.split(separator: "\n") {
                // {labels} value timestamp
                guard let close = line.lastIndex(of: "}") else { continue }
                let fields = line[line.index(after: close)...].split(separator: " ")
                let t = try #require(Int64(fields[1]))
                let v = try #require(Double(fields[0]))
                got[String(line[...close]), default: []].append((t, v))
            }
            let labels = try BenchWorkload.labelSets(dataset, limit: 2000)
            #expect(got.count == labels.count)
            for l in labels {
                let samples = try #require(got["\(l)"], "promtool did not dump \(l)")
                #expect(samples.map(\.0) == (0..<200).map { BenchWorkload.timestamp(scrape: $0) }, "\(l)")
                #expect(samples.map(\.1) == (0..<200).map { BenchWorkload.value(scrape: $0) }, "\(l)")
            }
        }
    }

    /// A WAL that `promtool tsdb bench write` wrote (Fixtures/wal, with its recipe) replays
    /// to the samples the workload formula gives: 600 series × 100 scrapes.
    @Test func weReadPrometheusWAL() throws {
        try TemporaryDirectory.with { dir in
            try FileManager.default.copyItem(atPath: Repository.path("Fixtures/wal/promtool-bench"), toPath: dir + "/wal")
            let db = try DB.open(directory: dir)
            #expect(db.replayStats.series == 600)
            #expect(db.replayStats.samples == 60_000)
            #expect(db.replayStats.notes.isEmpty, "\(db.replayStats.notes)")
            let all = try db.querier(minTime: .min, maxTime: .max).select([try Matcher(.regexMatch, "__name__", ".+")])
            #expect(all.count == 600)
            for s in all {
                #expect(s.samples.map(\.timestamp) == (0..<100).map { BenchWorkload.timestamp(scrape: $0) }, "\(s.labels)")
                #expect(s.samples.map(\.value) == (0..<100).map { BenchWorkload.value(scrape: $0) }, "\(s.labels)")
            }
            // Series references are Prometheus's: 1...600.
            #expect(Set(1...600).allSatisfy { db.head.series.lookup(UInt64($0)) != nil })
            try db.close()
        }
    }

    /// `tsdb-bench replay` works on a directory Prometheus wrote.
    @Test(.enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
    func replayCommandReadsAPrometheusDirectory() throws {
        try TemporaryDirectory.with { dir in
            try Promtool.run(["tsdb", "bench", "write", "--out=" + dir, "--metrics=300", "--scrapes=100", dataset])
            let out = try Command.run(try Products.path("tsdb-bench"), ["replay", dir + "/storage"])
            #expect(out.contains(" > replayed samples: 30000\n"), "\(out)")
            #expect(out.contains(" > replay seconds: "), "\(out)")
        }
    }
}
