import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// A real Prometheus 2.42 server compacts a copy of a directory of blocks (its first
/// compaction runs a minute after start), and we compact another copy: the same plans, and
/// the same `index` and chunk segment bytes in every resulting block, vertical merges
/// included. Takes about 70 s, so it runs only with `TSDB_PROMETHEUS_COMPACTION=1`.
@Suite(.heavy) struct PrometheusCompactionTests {
    static let enabled = ProcessInfo.processInfo.environment["TSDB_PROMETHEUS_COMPACTION"] == "1"
        && PrometheusServerTests.prometheus != nil

    @Test(.enabled(if: enabled, "set TSDB_PROMETHEUS_COMPACTION=1 (needs the prometheus binary; about 70 s)"))
    func prometheusCompactsToTheSameBytes() throws {
        let template = try CompactionCrashTests.makeTemplate()
        defer { template.directory.remove() }
        try TemporaryDirectory.with { dir in
            let ours = dir + "/ours"
            let theirs = dir + "/theirs"
            for d in [ours, theirs] {
                try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
                try CompactionCrashTests.copy(template.directory.path, to: d)
            }
            // Ours, with the ranges Prometheus uses for a 100-year retention (31 days at most).
            var blocks = try BlockLoader.loadRemovingCovered(directory: ours, sys: .system).blocks
            try CompactionTool.run(directory: ours, blocks: &blocks, ranges: CompactionPlanner.blockRanges(retention: 100 * 365 * 86_400_000),
                                   sys: .system)
            for b in blocks { b.close() }

            // Theirs: a server with nothing to scrape, stopped once its blocks settle.
            let config = dir + "/prometheus.yml"
            try Data("global: {}\n".utf8).write(to: URL(fileURLWithPath: config))
            let server = Process()
            server.executableURL = URL(fileURLWithPath: PrometheusServerTests.prometheus!)
            server.arguments = ["--config.file=" + config, "--storage.tsdb.path=" + theirs,
                                "--web.listen-address=127.0.0.1:\(21_000 + Int(getpid() % 9_000))",
                                "--storage.tsdb.retention.time=100y"]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            let deadline = Date().addingTimeInterval(120)
            let expected = try Self.blocks(ours).count
            // Blocks come and go while it works; a meta read in the middle may fail.
            while Date() < deadline && (try? Self.blocks(theirs))?.count != expected { usleep(500_000) }
            usleep(1_000_000)
            server.terminate()
            server.waitUntilExit()

            let a = try Self.blocks(ours)
            let b = try Self.blocks(theirs)
            #expect(a.map { [$0.minTime, $0.maxTime] } == b.map { [$0.minTime, $0.maxTime] })
            for (x, y) in zip(a, b) {
                #expect(x.compaction.level == y.compaction.level && x.compaction.sources == y.compaction.sources)
                #expect(x.stats == y.stats, "\(x.ulid) vs \(y.ulid)")
                for file in ["index", "chunks/000001", "tombstones"] {
                    let mine = FileManager.default.contents(atPath: ours + "/" + x.ulid.description + "/" + file)
                    let prometheus = FileManager.default.contents(atPath: theirs + "/" + y.ulid.description + "/" + file)
                    #expect(mine != nil && mine == prometheus, "\(file) of [\(x.minTime), \(x.maxTime)) differs")
                }
            }
        }
    }

    /// The metas of the blocks in `dir`, by time.
    static func blocks(_ dir: String) throws -> [BlockMeta] {
        try FileManager.default.contentsOfDirectory(atPath: dir).compactMap { ULID($0) }
            .map { try BlockMeta.read(blockDirectory: dir + "/" + $0.description, sys: .system) }
            .sorted { ($0.minTime, $0.maxTime) < ($1.minTime, $1.maxTime) }
    }
}
