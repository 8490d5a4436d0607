import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TSDBTestSupport

#if canImport(Glibc)
import Glibc
#endif

@testable @_spi(Chunks) import TSDB

/// `chunks_head/` both ways with Prometheus 2.42, and after a kill -9 with a torn tail.
@Suite(.heavy) struct HeadChunkCompatibilityTests {
    static let dataset = Repository.path("Fixtures/node-exporter/series-10k.jsonl")

    /// A Prometheus server on our data directory loads our head chunks (it logs no
    /// corruption and deletes no file) and serves every series and sample.
    @Test(.enabled(if: PrometheusServerTests.prometheus != nil, "needs the prometheus binary: apt-get install -y prometheus"))
    func prometheusLoadsOurHeadChunks() throws {
        try TemporaryDirectory.with { dir in
            let data = dir + "/data"
            var model: [Labels: [Sample]] = [:]
            let db = try DB.open(directory: data, options: Options.manualCompaction())
            try HeadChunkReplayTests.ingest(db, from: 1_000, to: 5 * HeadChunkReplayTests.hour, into: &model)
            let written = db.head.headChunks.chunksWritten
            try db.close()
            #expect(written == 200 * 9)

            let config = dir + "/prometheus.yml"
            try Data("global: {}\n".utf8).write(to: URL(fileURLWithPath: config))
            let log = dir + "/prometheus.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            let port = 20_000 + Int((getpid() + 4_099) % 10_000)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: PrometheusServerTests.prometheus!)
            server.arguments = ["--config.file=" + config, "--storage.tsdb.path=" + data,
                                "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.retention.time=100y"]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle(forWritingAtPath: log)
            try server.run()
            defer { server.terminate(); server.waitUntilExit() }
            let base = "http://127.0.0.1:\(port)"
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, PrometheusServerTests.get(base + "/-/ready")?.status != 200 { usleep(200_000) }
            #expect(PrometheusServerTests.get(base + "/-/ready")?.status == 200, "Prometheus did not become ready")

            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(text.contains("On-disk memory mappable chunks replay completed"), "\(text.suffix(2_000))")
            for bad in ["Loading on-disk chunks failed", "Deleting mmapped chunk files", "corruption"] {
                #expect(!text.contains(bad), "Prometheus logged \(bad): \(text.suffix(2_000))")
            }

            let metrics = PrometheusServerTests.get(base + "/metrics")?.body ?? ""
            #expect(metrics.contains("prometheus_tsdb_mmap_chunk_corruptions_total 0"), "\(metrics.prefix(300))")

            let last = model.values.first!.last!.timestamp
            let t = String(format: "%.3f", Double(last) / 1000)
            let count = try #require(PrometheusServerTests.get(base + "/api/v1/query?query=count(%7B__name__%3D%22m%22%7D)&time=" + t))
            #expect(count.body.contains("\"200\""), "\(count.body)")
            // Every sample of one series, the m-mapped chunks' and the WAL's alike.
            let samples = try #require(model[try Labels(["__name__": "m", "i": "7"])])
            let start = String(format: "%.3f", Double(samples.first!.timestamp) / 1000)
            let end = String(format: "%.3f", Double(samples.last!.timestamp) / 1000)
            let range = try #require(PrometheusServerTests.get(base + "/api/v1/query_range?query=m%7Bi%3D%227%22%7D&start=\(start)&end=\(end)&step=15"))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(range.body.utf8)) as? [String: Any])
            let result = ((json["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
            let values = (result.first?["values"] as? [[Any]]) ?? []
            #expect(values.count == samples.count)
            for (pair, s) in zip(values, samples) {
                let v = Double(pair[1] as? String ?? "") ?? .nan
                if v != s.value { Issue.record("at \(s.timestamp): Prometheus \(v), ours \(s.value)"); break }
            }
        }
    }

    /// The `chunks_head/` that `promtool tsdb bench write` leaves is loaded, and the head
    /// holds exactly the workload's samples.
    @Test(.enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
    func weLoadPromtoolHeadChunks() throws {
        try TemporaryDirectory.with { dir in
            try Promtool.run(["tsdb", "bench", "write", "--out=" + dir, "--metrics=300", "--scrapes=300", Self.dataset])
            let storage = dir + "/storage"
            #expect(try HeadChunkFormat.fileSequences(in: storage + "/chunks_head", sys: .system) == [1])
            let db = try DB.open(directory: storage)
            let stats = db.replayStats
            #expect(stats.notes.isEmpty, "\(stats.notes)")
            #expect(stats.series == 300)
            #expect(stats.headChunks == 300 * 2, "two closed chunks of every series in the first 2 h range")
            #expect(stats.headChunkSamples == 300 * 239)
            #expect(stats.samples == 300 * 300)
            #expect(stats.outOfOrder == 0 && stats.unknownRefs == 0)
            let all = try db.querier(minTime: .min, maxTime: .max).select([try Matcher(.regexMatch, "__name__", ".+")])
            #expect(all.count == 300)
            for s in all {
                #expect(s.samples.map(\.timestamp) == (0..<300).map { BenchWorkload.timestamp(scrape: $0) }, "\(s.labels)")
                #expect(s.samples.map(\.value) == (0..<300).map { BenchWorkload.value(scrape: $0) }, "\(s.labels)")
            }
            try db.close()
            // The command-line replay reports the same.
            let out = try Command.run(try Products.path("tsdb-bench"), ["replay", storage])
            #expect(out.contains(" > replayed samples: 90000\n"), "\(out)")
        }
    }

    /// kill -9 of a writer that has written head chunks, then the last head chunk file torn
    /// at a random byte: reopening cuts the torn chunk, replays its samples from the WAL and
    /// finds every acknowledged commit (the invariants of ``CrashTests``).
    @Test func tornHeadChunkFileAfterSIGKILLLosesNothing() throws {
        var rng = SeededRandom.fromEnvironment()
        let bench = try Products.path("tsdb-bench")
        let labels = try BenchWorkload.labelSets(CrashTests.dataset, limit: CrashTests.metrics)
        for iteration in 0..<3 {
            let dir = try TemporaryDirectory("tsdb-headchunks-crash")
            defer { dir.remove() }
            // 3 shards: 900+ commits are 300+ scrapes of each series, two chunks or more.
            let commits = Int.random(in: 900...1_500, using: &rng)
            let plan = CrashTests.KillPlan(moment: .afterCommits(commits, pauseMicroseconds: UInt32.random(in: 0...3_000, using: &rng)),
                                           walSegmentSize: nil, walCompression: "snappy")
            let context = "TSDB_TEST_SEED=\(rng.seed), iteration \(iteration), \(plan)"
            let run = try CrashTests.runAndKill(bench, plan: plan, out: dir.path)
            #expect(run.problems.isEmpty, "\(run.problems) (\(context))")
            let chunks = dir.path + "/storage/chunks_head"
            let last = try #require(try HeadChunkFormat.fileSequences(in: chunks, sys: .system).last, "no head chunk file (\(context))")
            let path = chunks + "/" + HeadChunkFormat.fileName(last)
            let size = Int(FileSystem.size(path, sys: .system) ?? 0)
            try #require(size > 4_096, "the head chunk file holds only \(size) bytes (\(context))")
            let keep = Int.random(in: HeadChunkFormat.headerSize..<size, using: &rng)
            #expect(truncate(path, off_t(keep)) == 0)

            var totals = CrashTests.Totals()
            let problems = CrashTests.verify(storage: dir.path + "/storage", labels: labels, reported: run.reported, totals: &totals)
            for p in problems { Issue.record("\(p) (\(context), head chunk file cut to \(keep) of \(size) bytes)") }
            // The reopening cut the torn chunk (unless the cut fell on a chunk boundary);
            // the next one loads what is left without complaint.
            let db = try DB.open(directory: dir.path + "/storage")
            #expect(db.replayStats.notes.isEmpty, "\(db.replayStats.notes) (\(context))")
            #expect(db.replayStats.headChunks > 0 || keep < 1_000, "(\(context))")
            try db.close()
        }
    }
}
