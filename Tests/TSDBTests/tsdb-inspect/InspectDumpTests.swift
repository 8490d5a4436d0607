import Foundation
import Testing
import TSDB
import TSDBTestSupport

/// `tsdb-inspect list` and `dump` against `promtool tsdb list` and `dump`, as a user runs them.
@Suite(.heavy, .enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
struct InspectDumpTests {
    @Test func dumpEqualsPromtoolOnPromtoolBlocks() throws {
        let dir = try InspectFixtures.promtoolBlocks(from: InspectFixtures.variedOpenMetrics)
        defer { dir.remove() }
        let tool = try InspectFixtures.tool()
        let ours = try Command.run(tool, ["dump", dir.path])
        let theirs = try Promtool.run(["tsdb", "dump", dir.path])
        #expect(ours.count > 100_000)
        #expect(ours == theirs)
        for extra in [["--match", #"inspect_temperature_celsius{quote=~".*hi.*"}"#],
                      ["--min-time", "1700006405000", "--max-time", "1700013603009"],
                      ["--match", #"{__name__=~"inspect_(special|millis)"}"#, "--max-time", "1700000100000"]] {
            let o = try Command.run(tool, ["dump", dir.path] + extra)
            let p = try Promtool.run(["tsdb", "dump", dir.path] + extra)
            #expect(!o.isEmpty)
            #expect(o == p, "\(extra)")
        }
    }

    @Test func dumpEqualsPromtoolOnEngineDirectory() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let blocks = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.count == 26 }
        #expect(blocks.count >= 2, "blocks cut from the head")
        let ours = try Command.run(try InspectFixtures.tool(), ["dump", dir.path])
        let theirs = try Promtool.run(["tsdb", "dump", dir.path])
        #expect(ours.split(separator: "\n").count == 4 * 6 * 240)
        #expect(ours == theirs)
    }

    @Test func listEqualsPromtool() throws {
        let promtoolDir = try InspectFixtures.promtoolBlocks(from: InspectFixtures.variedOpenMetrics)
        let engineDir = try InspectFixtures.engineDirectory()
        defer { promtoolDir.remove(); engineDir.remove() }
        for dir in [promtoolDir.path, engineDir.path] {
            for flags in [[], ["-r"]] {
                let ours = try Command.run(try InspectFixtures.tool(), ["list", dir] + flags)
                let theirs = try Promtool.run(["tsdb", "list", dir] + flags)
                #expect(ours.split(separator: "\n").count >= 3)
                #expect(ours == theirs)
            }
        }
    }

    @Test func dumpWorksWhileAnotherProcessHoldsTheDirectory() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let expected = try Promtool.run(["tsdb", "dump", dir.path])
        var options = Options()
        options.compactionEnabled = false
        let db = try DB.open(directory: dir.path, options: options)  // holds the lock
        defer { try? db.close() }
        #expect(try Command.run(try InspectFixtures.tool(), ["dump", dir.path]) == expected)
        #expect(try Command.run(try InspectFixtures.tool(), ["list", dir.path]).contains("NUM SAMPLES"))
    }
}
