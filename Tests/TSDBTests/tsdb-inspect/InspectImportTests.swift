import Foundation
import Testing
import Exposition
import TSDB
import TSDBTestSupport

/// `tsdb-inspect import openmetrics` against `promtool tsdb create-blocks-from openmetrics`.
@Suite(.heavy, .enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
struct InspectImportTests {
    /// `promtool tsdb dump` of a directory (which needs a `wal` directory to exist).
    func promtoolDump(_ dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir + "/wal", withIntermediateDirectories: true)
        return try Promtool.run(["tsdb", "dump", dir])
    }

    func blockDirectories(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.count == 26 }.sorted()
    }

    /// Imports `input` with both tools and checks: same dump, same list (but ULIDs), and
    /// byte-identical chunks and index.
    func checkSameAsPromtool(_ input: String, extra: [String] = []) throws {
        let ours = try TemporaryDirectory("inspect-import")
        let theirs = try InspectFixtures.promtoolBlocks(from: input)
        defer { ours.remove(); theirs.remove() }
        try Command.run(try InspectFixtures.tool(), ["import", "openmetrics", input, ours.path, "-q"] + extra)
        #expect(try promtoolDump(ours.path) == promtoolDump(theirs.path))
        func listWithoutULIDs(_ dir: String) throws -> [String] {
            try Promtool.run(["tsdb", "list", dir]).split(separator: "\n").map { String($0.dropFirst(26)) }
        }
        #expect(try listWithoutULIDs(ours.path) == listWithoutULIDs(theirs.path))
        for (a, b) in zip(try blockDirectories(ours.path), try blockDirectories(theirs.path)) {
            for file in ["index", "chunks/000001"] {
                #expect(FileManager.default.contents(atPath: "\(ours.path)/\(a)/\(file)") == FileManager.default.contents(atPath: "\(theirs.path)/\(b)/\(file)"), "\(file)")
            }
        }
    }

    @Test func variedFileImportsAsPromtoolImportsIt() throws {
        try checkSameAsPromtool(InspectFixtures.variedOpenMetrics)
    }

    @Test func randomFilesImportAsPromtoolImportsThem() throws {
        var rng = SeededRandom.fromEnvironment()
        let dir = try TemporaryDirectory("inspect-random-om")
        defer { dir.remove() }
        for round in 0..<3 {
            let path = dir.path + "/random-\(round).om"
            try Data(Self.randomOpenMetrics(using: &rng).utf8).write(to: URL(fileURLWithPath: path))
            try checkSameAsPromtool(path)
        }
    }

    /// Random series, values (specials and random bits) and timestamps over up to 9 h,
    /// in an order with some samples out of order within a commit batch.
    static func randomOpenMetrics(using rng: inout SeededRandom) -> String {
        let series = (0..<Int(rng.next() % 30 + 1)).map { i in
            "rnd_metric_\(i % 4){k=\"v\(i)\",esc=\"a\\\\b\\\"c\\nd\(i % 3)\"}"
        }
        var lines: [String] = []
        var t: Int64 = 1_699_990_000_000 + Int64(rng.next() % 10_000_000)
        for _ in 0..<Int(rng.next() % 4000 + 100) {
            t += Int64(rng.next() % 20_000)
            let s = series[Int(rng.next() % UInt64(series.count))]
            var ts = t
            if rng.next() % 50 == 0 { ts -= Int64(rng.next() % 100_000) }  // out of order
            var v = InterestingValues.random(using: &rng)
            if v.isNaN { v = .nan }
            var text: [UInt8] = []
            GoFormatShim.append(v, &text)
            var tsText: [UInt8] = []
            GoFormatShim.appendTimestamp(ts, &tsText)
            lines.append("\(s) \(String(decoding: text, as: UTF8.self)) \(String(decoding: tsText, as: UTF8.self))")
        }
        return "# TYPE rnd_metric_0 gauge\n" + lines.joined(separator: "\n") + "\n# EOF\n"
    }

    @Test func promtoolBlocksDumpedAsOpenMetricsImportBackIdentically() throws {
        let theirs = try InspectFixtures.promtoolBlocks(from: InspectFixtures.variedOpenMetrics)
        let again = try TemporaryDirectory("inspect-reimport")
        defer { theirs.remove(); again.remove() }
        let text = try Command.run(try InspectFixtures.tool(), ["dump", theirs.path, "--format", "openmetrics"])
        let path = again.path + "/dump.om"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        // promtool reads our OpenMetrics, and so do we: both give back the original samples.
        let viaPromtool = try InspectFixtures.promtoolBlocks(from: path)
        defer { viaPromtool.remove() }
        let original = try promtoolDump(theirs.path)
        #expect(try promtoolDump(viaPromtool.path) == original)
        try Command.run(try InspectFixtures.tool(), ["import", "openmetrics", path, again.path + "/db", "-q"])
        #expect(try promtoolDump(again.path + "/db") == original)
    }

    @Test func prometheusTextFormatTakesTheGivenTimestamp() throws {
        let dir = try TemporaryDirectory("inspect-text")
        defer { dir.remove() }
        let input = """
            # HELP node_load1 1m load average.
            # TYPE node_load1 gauge
            node_load1 0.52

            # a free comment
            node_filesystem_avail_bytes{device="/dev/sda1", mountpoint="/",} 1.2e+10
            http_requests_total{code="200",method="get"} 1027 1700000001000
            weird_value{a="x"}\t-Inf

            """
        try Data(input.utf8).write(to: URL(fileURLWithPath: dir.path + "/push.prom"))
        try Command.run(try InspectFixtures.tool(), ["import", "openmetrics", dir.path + "/push.prom", dir.path + "/db", "--timestamp", "1700000000000", "-q"])
        #expect(try promtoolDump(dir.path + "/db") == """
            {__name__="http_requests_total", code="200", method="get"} 1027 1700000001000
            {__name__="node_filesystem_avail_bytes", device="/dev/sda1", mountpoint="/"} 1.2e+10 1700000000000
            {__name__="node_load1"} 0.52 1700000000000
            {__name__="weird_value", a="x"} -Inf 1700000000000

            """)
    }

    @Test func badLinesAndFailedImportsWriteNothing() throws {
        let dir = try TemporaryDirectory("inspect-bad")
        defer { dir.remove() }
        let tool = try InspectFixtures.tool()
        let bad = dir.path + "/bad.om"
        try Data("a{x=\"1\"} 1 10.000\na{x=\"1\"} 2 20.000\na{x=\"1\" 3 30.000\n# EOF\n".utf8).write(to: URL(fileURLWithPath: bad))
        let r = try Command.runStatus(tool, ["import", "openmetrics", bad, dir.path + "/db"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 3"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/db"))

        // Out of order against a committed sample (after 5000 appends) fails in the second pass.
        var lines = (0..<5001).map { "a 1 \(1_000 + $0).000" }
        lines.append("a 1 500.000")
        let late = dir.path + "/late.om"
        try Data((lines.joined(separator: "\n") + "\n# EOF\n").utf8).write(to: URL(fileURLWithPath: late))
        try FileManager.default.createDirectory(atPath: dir.path + "/db2", withIntermediateDirectories: true)
        let l = try Command.runStatus(tool, ["import", "openmetrics", late, dir.path + "/db2"])
        #expect(l.status == 1 && l.stderr.contains("out of order"), "\(l.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/db2").isEmpty, "no block, no staging directory")
        let p = try Command.runStatus(Promtool.path!, ["tsdb", "create-blocks-from", "openmetrics", late, dir.path + "/db3"])
        #expect(p.status != 0 && p.stderr.contains("out of order"), "promtool fails the same way: \(p.stderr)")
    }
}

/// The OpenMetrics writing helpers, through the SPI.
enum GoFormatShim {
    static func append(_ v: Double, _ out: inout [UInt8]) { GoFormat.appendFloat(v, to: &out) }
    static func appendTimestamp(_ ms: Int64, _ out: inout [UInt8]) { OpenMetricsText.appendTimestamp(milliseconds: ms, to: &out) }
}
