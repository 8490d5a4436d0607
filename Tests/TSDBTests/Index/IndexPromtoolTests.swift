import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The block index against Debian's promtool 2.42, the oracle: its index files must read
/// correctly here, and writing back what was read must give the same bytes.
@Suite(.heavy, .enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
struct IndexPromtoolTests {
    /// Runs `promtool tsdb create-blocks-from openmetrics` on `input` and returns the index
    /// path of every block, in ULID order.
    static func promtoolIndexes(input: String, dir: String) throws -> [String] {
        try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", "--quiet", input, dir + "/data"])
        return try FileManager.default.contentsOfDirectory(atPath: dir + "/data")
            .filter { $0.count == 26 }.sorted().map { dir + "/data/" + $0 + "/index" }
    }

    /// OpenMetrics text for `series`, each with a sample every hour for `hours` hours.
    /// Every label set needs a `__name__` that is a valid metric name.
    static func openMetrics(_ series: [Labels], hours: Int) -> String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        var text = ""
        for (i, labels) in series.enumerated() {
            let rest = labels.filter { $0.name != "__name__" }.map { "\($0.name)=\"\(escape($0.value))\"" }
            let selector = (labels.metricName ?? "missing") + (rest.isEmpty ? "" : "{" + rest.joined(separator: ",") + "}")
            for h in 0..<hours {
                text += "\(selector) \(i % 1000 + h) \(1_700_000_000 + h * 3600 + i % 60).000\n"
            }
        }
        return text + "# EOF\n"
    }

    /// Our reader on promtool's index, then our writer on what it read: same bytes.
    static func checkRewrite(_ path: String, into out: String) throws -> IndexContents {
        let contents = try IndexContents(reading: try IndexReader.open(path: path, sys: .system))
        #expect(!contents.series.isEmpty)
        #expect(contents.symbols.first == "", "Prometheus's head adds the empty symbol")
        #expect(contents.symbols == IndexWriter.symbols(of: contents.series.map(\.labels)))
        try contents.write(to: out)
        let expected = try TestFiles.read(path)
        let actual = try TestFiles.read(out)
        #expect(actual.count == expected.count, "\(path)")
        if let first = zip(actual, expected).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("\(path): first differing byte at offset \(first.offset)")
        }
        #expect(actual == expected)
        return contents
    }

    static func checkReader(_ path: String) throws {
        try IndexContents.verifyAnswers(of: try IndexReader.open(path: path, sys: .system))
    }

    @Test func fixtureBlocksRewriteToIdenticalBytes() throws {
        try TemporaryDirectory.with { dir in
            let indexes = try Self.promtoolIndexes(input: Repository.path("Fixtures/chunks/input.om"), dir: dir)
            #expect(indexes.count == 16)
            var seriesSeen = 0
            for (i, path) in indexes.enumerated() {
                seriesSeen += try Self.checkRewrite(path, into: dir + "/ours-\(i)").series.count
            }
            #expect(seriesSeen > 16)
        }
    }

    @Test func fixtureBlocksReadCorrectly() throws {
        try TemporaryDirectory.with { dir in
            for path in try Self.promtoolIndexes(input: Repository.path("Fixtures/chunks/input.om"), dir: dir) {
                try Self.checkReader(path)
            }
        }
    }

    /// Thousands of series, unicode label values, label names with hundreds of values: the
    /// symbol and postings samplings are crossed many times.
    @Test func generatedSeriesBlocksRewriteAndReadCorrectly() throws {
        var rng = SeededRandom.fromEnvironment()
        var series = try RandomIndex.contents(&rng, seriesCount: 3000).series.map { s in
            var pairs = s.labels.map { ($0.name, $0.value) }.filter { $0.0 != "__name__" }
            pairs.append(("__name__", "metric_\(rng.next() % 40)"))
            return try Labels(pairs)
        }
        series = Array(Set(series))
        try TemporaryDirectory.with { dir in
            let input = dir + "/input.om"
            try Self.openMetrics(series, hours: 3).write(toFile: input, atomically: false, encoding: .utf8)
            let indexes = try Self.promtoolIndexes(input: input, dir: dir)
            #expect(indexes.count >= 2, "seed \(rng.seed)")
            for (i, path) in indexes.enumerated() {
                let contents = try Self.checkRewrite(path, into: dir + "/ours-\(i)")
                #expect(contents.series.count == series.count, "seed \(rng.seed)")
                #expect(contents.symbols.count > 200, "seed \(rng.seed)")
                try Self.checkReader(path)
            }
        }
    }

    /// node_exporter's 10,000 label sets, one sample each.
    @Test func nodeExporterBlockRewritesAndReadsCorrectly() throws {
        let lines = try String(contentsOfFile: Repository.path("Fixtures/node-exporter/series-10k.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let series = try lines.map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] ?? [:]
            return try Labels(object)
        }
        try TemporaryDirectory.with { dir in
            let input = dir + "/input.om"
            try Self.openMetrics(series, hours: 1).write(toFile: input, atomically: false, encoding: .utf8)
            let indexes = try Self.promtoolIndexes(input: input, dir: dir)
            #expect(indexes.count == 1)
            for path in indexes {
                #expect(try Self.checkRewrite(path, into: dir + "/ours").series.count == 10_000)
                try Self.checkReader(path)
            }
        }
    }
}

