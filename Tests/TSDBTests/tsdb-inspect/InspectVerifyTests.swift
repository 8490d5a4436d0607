import Foundation
import Testing
import TSDB
import TSDBTestSupport

/// `tsdb-inspect verify`, `analyze` and `dump-wal` as a user runs them.
@Suite(.heavy) struct InspectVerifyTests {
    func verify(_ dir: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try Command.runStatus(try InspectFixtures.tool(), ["verify", dir])
    }

    func firstBlock(_ dir: String) throws -> String {
        dir + "/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: dir).sorted().first { $0.count == 26 }))
    }

    @Test func aHealthyDirectoryVerifies() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let r = try verify(dir.path)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("no problems"))
        #expect(!r.stdout.contains(" 0 head chunks"), "the fixture has head chunks to check: \(r.stdout)")
    }

    @Test func findsAFlippedBitInAChunk() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let segment = try firstBlock(dir.path) + "/chunks/000001"
        var bytes = try #require(FileManager.default.contents(atPath: segment))
        bytes[20] ^= 0x10  // inside the first chunk, which starts at offset 8
        try bytes.write(to: URL(fileURLWithPath: segment))
        let r = try verify(dir.path)
        #expect(r.status == 1)
        #expect(r.stdout.contains("problem: \(segment) at offset 8: chunk CRC32C mismatch"), "\(r.stdout)")
    }

    @Test func findsAFlippedBitInAHeadChunk() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let file = dir.path + "/chunks_head/000001"
        var bytes = try #require(FileManager.default.contents(atPath: file))
        try #require(bytes.count > 100)
        bytes[40] ^= 0x10  // inside the first chunk, which starts after the 8-byte header
        try bytes.write(to: URL(fileURLWithPath: file))
        let r = try verify(dir.path)
        #expect(r.status == 1)
        #expect(r.stdout.contains("problem: \(file) at offset 8: checksum mismatch in the chunk at offset 8"), "\(r.stdout)")
    }

    @Test func findsATruncatedIndex() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let index = try firstBlock(dir.path) + "/index"
        let bytes = try #require(FileManager.default.contents(atPath: index))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: index))
        let r = try verify(dir.path)
        #expect(r.status == 1)
        #expect(r.stdout.contains("problem: \(index) at offset \(bytes.count - 10 - 52): table of contents CRC32C"), "\(r.stdout)")
    }

    @Test func findsABadMetaJSON() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let meta = try firstBlock(dir.path) + "/meta.json"
        try Data("{\"ulid\": \"01M7YSCW9RYB8HTQBNBDNAK9Y5\", \"minTime\": x}".utf8).write(to: URL(fileURLWithPath: meta))
        let r = try verify(dir.path)
        #expect(r.status == 1)
        #expect(r.stdout.contains("problem: \(meta) at offset"), "\(r.stdout)")
    }

    @Test func findsATornWALTail() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let records = try Command.run(try InspectFixtures.tool(), ["dump-wal", dir.path, "--summary"]).split(separator: "\n")
        let last = try #require(records.last { !$0.hasPrefix("damage") })
        let parts = last.split(separator: " ")
        let segment = String(parts[0])
        let offset = try #require(Int(parts[1].dropFirst()))
        let bytes = try #require(FileManager.default.contents(atPath: segment))
        // Cut inside the last record: its header and 3 bytes of its payload remain.
        try bytes.prefix(offset + 10).write(to: URL(fileURLWithPath: segment))
        // What a crash leaves and the next open cuts: a note, not a problem.
        let r = try verify(dir.path)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("note: \(segment) at offset \(offset): torn record"), "\(r.stdout)")
        #expect(!r.stdout.contains("problem:"), "\(r.stdout)")
        #expect(try Command.run(try InspectFixtures.tool(), ["dump-wal", dir.path, "--summary"]).contains("damage: \(segment) at offset \(offset)"))
    }

    /// Issue 11, defect 4: a kill -9 while a head chunk file is being created leaves it with
    /// 0 bytes (or part of its header). `verify` notes it; a read-write open deletes it, as
    /// Prometheus's `repairLastChunkFile` does, and the directory verifies clean afterwards.
    @Test(arguments: [0, 5])
    func aHeadChunkFileKilledAtCreationIsANoteAndOpenDeletesIt(length: Int) throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let chunks = dir.path + "/chunks_head"
        let files = try FileManager.default.contentsOfDirectory(atPath: chunks).sorted()
        let lastName = try #require(files.last)
        let next = String(format: "%06d", try #require(Int(lastName)) + 1)
        try Data([0x01, 0x30, 0xBC, 0x91, 0x01].prefix(length)).write(to: URL(fileURLWithPath: chunks + "/" + next))
        let r = try verify(dir.path)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("note: \(chunks)/\(next) at offset 0: a file of \(length) bytes is shorter than the 8-byte header"), "\(r.stdout)")
        #expect(!r.stdout.contains("problem:"), "\(r.stdout)")

        let db = try DB.open(directory: dir.path)
        #expect(db.replayStats.notes.contains { $0.contains(next) && $0.contains("deleted") }, "\(db.replayStats.notes)")
        try db.close()
        let size = (try? FileManager.default.attributesOfItem(atPath: chunks + "/" + next)[.size] as? Int) ?? nil
        #expect(size == nil || size! >= 8, "the short file is gone (or rewritten whole by the new writer)")
        let after = try verify(dir.path)
        #expect(after.status == 0 && !after.stdout.contains("note:") && !after.stdout.contains("problem:"), "\(after.stdout)")
    }

    /// A head chunk file that is not the last and is short is damage, not a torn tail.
    @Test func aShortHeadChunkFileBeforeTheLastIsAProblem() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let chunks = dir.path + "/chunks_head"
        let files = try FileManager.default.contentsOfDirectory(atPath: chunks).sorted()
        let lastName = try #require(files.last)
        let last = try #require(Int(lastName))
        try Data().write(to: URL(fileURLWithPath: chunks + "/" + String(format: "%06d", last + 1)))
        try FileManager.default.copyItem(atPath: chunks + "/" + files.last!, toPath: chunks + "/" + String(format: "%06d", last + 2))
        _ = lastName
        let r = try verify(dir.path)
        #expect(r.status == 1, "\(r.stdout)")
        #expect(r.stdout.contains("problem: \(chunks)/\(String(format: "%06d", last + 1)) at offset 0"), "\(r.stdout)")
    }

    @Test func dumpWALShowsRecordsWithSegmentAndOffset() throws {
        let dir = try InspectFixtures.engineDirectory()
        defer { dir.remove() }
        let out = try Command.run(try InspectFixtures.tool(), ["dump-wal", dir.path])
        #expect(out.contains("/wal/"))
        #expect(out.contains(" series n="))
        #expect(out.contains(" samples n="))
        #expect(out.contains(#"  ref="#) && out.contains(#"{__name__="inspect_up", job="api"}"#))
        let before = try InspectFixtures.checksum(dir.path)
        for command in [["verify"], ["analyze"], ["dump-wal"]] {
            _ = try Command.runStatus(try InspectFixtures.tool(), command + [dir.path])
            #expect(try InspectFixtures.checksum(dir.path) == before, "\(command) changed the directory")
        }
    }

    @Test(.enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
    func analyzeReportsWhatPromtoolReports() throws {
        let dir = try InspectFixtures.promtoolBlocks(from: InspectFixtures.variedOpenMetrics)
        defer { dir.remove() }
        let ours = try Command.run(try InspectFixtures.tool(), ["analyze", dir.path, "--limit", "1000"])
        let theirs = try Promtool.run(["tsdb", "analyze", dir.path, "--limit", "1000"])
        // Go iterates maps in random order and sorts unstably: compare each section as a set.
        func sections(_ s: String) -> [String: Set<String>] {
            var out: [String: Set<String>] = [:]
            var current = "header"
            for line in s.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasSuffix(":") && !line.hasPrefix("Block") { current = String(line); continue }
                if line.hasPrefix("Chunks:") || line.hasPrefix("Fullness") { current = "extended"; continue }
                out[current, default: []].insert(String(line))
            }
            out["extended"] = nil
            return out
        }
        let o = sections(ours)
        let t = sections(theirs)
        #expect(o.keys.sorted() == t.keys.sorted())
        for key in t.keys { #expect(o[key] == t[key], "\(key)") }
    }

    @Test(arguments: ["analyze", "verify", "dump-wal", "import"])
    func helpHasAnExample(_ command: String) throws {
        let out = try Command.run(try InspectFixtures.tool(), [command, "--help"])
        #expect(out.contains("Example"), "\(out)")
    }
}
