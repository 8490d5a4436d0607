import Foundation
import Testing
import TSDBTestSupport

/// `tsdb-bench write` as a user runs it: the built binary on the shipped dataset.
@Suite(.heavy) struct WriteCommandTests {
    let dataset = Repository.path("Fixtures/node-exporter/series-10k.jsonl")

    @Test func ingestsTheWorkloadAndRunsTheDemoQuery() throws {
        let out = try Command.run(try Products.path("tsdb-bench"), [
            "write", "--metrics", "1500", "--scrapes", "150", dataset,
            "--query", #"node_cpu_seconds_total{mode="idle"}"#,
        ])
        // 150 scrapes round up to 200, as promtool rounds to blocks of 100.
        #expect(out.contains(" > total samples: 300000\n"), "\(out)")
        let rate = out.split(separator: "\n").first { $0.hasPrefix(" > samples/sec: ") }
            .flatMap { Double($0.dropFirst(" > samples/sec: ".count)) }
        #expect((rate ?? 0) > 0, "\(out)")
        #expect(out.contains("head memory: RSS grew"))
        // Six idle CPU series among the first 1500 label sets, each with all 200 samples;
        // the last block of 100 scrapes ends at value 123456789 + 1000·100.
        #expect(out.contains("over [30000, 6000000]: 6 series"), "\(out)")
        #expect(out.contains(#"mode="idle""#) && out.contains("200 samples, last 123556789.0 @ 6000000"), "\(out)")
    }

    @Test func keepsTheDatabaseWhenAskedAndRejectsBadInput() throws {
        try TemporaryDirectory.with { dir in
            try Command.run(try Products.path("tsdb-bench"), ["write", "--metrics", "10", "--scrapes", "1", "--out", dir, dataset])
            var isDir: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: dir + "/storage", isDirectory: &isDir) && isDir.boolValue)

            let bad = dir + "/bad.jsonl"
            try Data("{\"__name__\": \"up\"}\n{\"a\": 1}\n".utf8).write(to: URL(fileURLWithPath: bad))
            let result = try Command.runStatus(try Products.path("tsdb-bench"), ["write", bad])
            #expect(result.status != 0)
            #expect(result.stderr.contains("bad.jsonl:2: value of a is not a string"), "\(result.stderr)")

            let zero = try Command.runStatus(try Products.path("tsdb-bench"), ["write", "--metrics", "0", dataset])
            #expect(zero.status != 0 && zero.stderr.contains("--metrics must be positive"), "\(zero.stderr)")
        }
    }
}
