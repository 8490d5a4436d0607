import Foundation
import Testing
import TSDB
import TSDBTestSupport

/// The rules every `tsdb-inspect` command follows: read-only, clear errors, `--help`.
@Suite(.heavy) struct InspectCLIRulesTests {
    /// Reading commands, with the arguments that follow the directory.
    static let readingCommands: [[String]] = [["list"], ["list", "-r"], ["dump"], ["dump", "--format", "openmetrics"]]

    @Test func readingCommandsLeaveTheDirectoryUnchanged() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        // A leftover of an interrupted block write: opening read-write would remove it.
        try FileManager.default.createDirectory(atPath: dir.path + "/01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation", withIntermediateDirectories: true)
        let before = try InspectFixtures.checksum(dir.path)
        for command in Self.readingCommands {
            let r = try Command.runStatus(try InspectFixtures.tool(), [command[0], dir.path] + command.dropFirst())
            #expect(r.status == 0, "\(command): \(r.stderr)")
            #expect(try InspectFixtures.checksum(dir.path) == before, "\(command) changed the directory")
        }
    }

    @Test func missingOrWrongDirectoriesAreClearErrors() throws {
        let tool = try InspectFixtures.tool()
        let dir = try TemporaryDirectory("inspect-wrong")
        defer { dir.remove() }
        let file = dir.path + "/notes.txt"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: file))
        for command in Self.readingCommands {
            let missing = try Command.runStatus(tool, [command[0], dir.path + "/nope"] + command.dropFirst())
            #expect(missing.status == 1 && missing.stderr.contains("no such directory"), "\(command): \(missing.stderr)")
            let notDir = try Command.runStatus(tool, [command[0], file] + command.dropFirst())
            #expect(notDir.status == 1 && notDir.stderr.contains("not a data directory"), "\(command): \(notDir.stderr)")
            let other = try Command.runStatus(tool, [command[0], dir.path] + command.dropFirst())
            #expect(other.status == 1 && other.stderr.contains("notes.txt"), "\(command): \(other.stderr)")
        }
    }

    @Test func aCorruptBlockIsAnErrorNamingTheFile() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let block = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().first { $0.count == 26 })
        let meta = dir.path + "/" + block + "/meta.json"
        try Data("{\"ulid\": 12".utf8).write(to: URL(fileURLWithPath: meta))
        for command in Self.readingCommands {
            let r = try Command.runStatus(try InspectFixtures.tool(), [command[0], dir.path] + command.dropFirst())
            #expect(r.status == 1, "\(command)")
            #expect(r.stderr.contains(meta), "\(command): \(r.stderr)")
        }
    }

    @Test(arguments: ["list", "dump"])
    func helpHasAnExample(_ command: String) throws {
        let out = try Command.run(try InspectFixtures.tool(), [command, "--help"])
        #expect(out.contains("Example"), "\(out)")
        #expect(out.contains("tsdb-inspect \(command)"), "\(out)")
    }
}
