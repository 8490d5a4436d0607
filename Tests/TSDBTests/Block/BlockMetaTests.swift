import Foundation
import Testing
import TSDBTestSupport

@testable import TSDB

/// `meta.json` (FORMAT.md §9.2): byte-identical to what Prometheus writes, unknown members
/// kept, damaged files rejected with the file named.
@Suite(.heavy) struct BlockMetaTests {
    static let fixtures = [
        PrometheusBlockFixtures.metaAfterDelete, PrometheusBlockFixtures.metaLevel2, PrometheusBlockFixtures.metaLevel3,
    ]

    static func decode(_ text: String, file: String = "meta.json") throws(TSDBError) -> BlockMeta {
        try BlockMeta(decoding: Array(text.utf8), file: file)
    }

    @Test(arguments: fixtures)
    func prometheusFileReadsAndWritesBackByteForByte(text: String) throws {
        let meta = try Self.decode(text)
        #expect(String(decoding: meta.encoded(), as: UTF8.self) == text)
        #expect(meta.unknownMembers.isEmpty && meta.stats.unknownMembers.isEmpty && meta.compaction.unknownMembers.isEmpty)
    }

    @Test func builtFromValuesMatchesPrometheusLevel2() throws {
        func id(_ s: String) throws -> ULID { try #require(ULID(s)) }
        let parents = [
            BlockMeta.BlockDescription(ulid: try id("01M7YMRHSB12X23MYA12EPSMKK"), minTime: 1_700_006_400_011, maxTime: 1_700_013_592_001),
            BlockMeta.BlockDescription(ulid: try id("01M7YMRHTV46E2WG652CW27SR8"), minTime: 1_700_013_601_005, maxTime: 1_700_017_485_996),
            BlockMeta.BlockDescription(ulid: try id("01M7YMRHYKNSQ29SHGRQWD9A75"), minTime: 1_700_020_800_012, maxTime: 1_700_027_982_001),
        ]
        let meta = BlockMeta(
            ulid: try id("01M7YMTDRANRF7FEGYF1CP9K1Q"), minTime: 1_700_006_400_011, maxTime: 1_700_027_982_001,
            stats: .init(numSamples: 1393, numSeries: 6, numChunks: 16),
            compaction: .init(level: 2, sources: parents.map(\.ulid), parents: parents))
        #expect(String(decoding: meta.encoded(), as: UTF8.self) == PrometheusBlockFixtures.metaLevel2)
        #expect(try Self.decode(PrometheusBlockFixtures.metaLevel2) == meta)
    }

    /// `omitempty` on counts, `sources`, `deletable`, `parents`, `failed` and `hints`; none
    /// on `stats` itself, which Go writes as `{}` (omitempty does not apply to structs).
    @Test func emptyAndFullMetas() throws {
        let id = try #require(ULID("01ARYZ6S410000000000000000"))
        let empty = BlockMeta(ulid: id, minTime: -5, maxTime: 0)
        #expect(String(decoding: empty.encoded(), as: UTF8.self) == """
            {
            \t"ulid": "01ARYZ6S410000000000000000",
            \t"minTime": -5,
            \t"maxTime": 0,
            \t"stats": {},
            \t"compaction": {
            \t\t"level": 0
            \t},
            \t"version": 1
            }
            """)
        var full = empty
        full.stats = .init(numSamples: 1, numFloatSamples: 2, numHistogramSamples: 3, numSeries: 4, numChunks: 5, numTombstones: .max)
        full.compaction = .init(level: 7, sources: [id], deletable: true,
                                parents: [.init(ulid: id, minTime: .min, maxTime: .max)], failed: true,
                                hints: [BlockMeta.Compaction.hintFromOutOfOrder, "<&>\u{2028}\"\\\n\u{1}\u{7f}é"])
        let text = String(decoding: full.encoded(), as: UTF8.self)
        #expect(text == """
            {
            \t"ulid": "01ARYZ6S410000000000000000",
            \t"minTime": -5,
            \t"maxTime": 0,
            \t"stats": {
            \t\t"numSamples": 1,
            \t\t"numFloatSamples": 2,
            \t\t"numHistogramSamples": 3,
            \t\t"numSeries": 4,
            \t\t"numChunks": 5,
            \t\t"numTombstones": 18446744073709551615
            \t},
            \t"compaction": {
            \t\t"level": 7,
            \t\t"sources": [
            \t\t\t"01ARYZ6S410000000000000000"
            \t\t],
            \t\t"deletable": true,
            \t\t"parents": [
            \t\t\t{
            \t\t\t\t"ulid": "01ARYZ6S410000000000000000",
            \t\t\t\t"minTime": -9223372036854775808,
            \t\t\t\t"maxTime": 9223372036854775807
            \t\t\t}
            \t\t],
            \t\t"failed": true,
            \t\t"hints": [
            \t\t\t"from-out-of-order",
            \t\t\t"\\u003c\\u0026\\u003e\\u2028\\"\\\\\\n\\u0001\u{7f}é"
            \t\t]
            \t},
            \t"version": 1
            }
            """)
        #expect(try Self.decode(text) == full)
    }

    /// A Thanos block's meta.json: the `thanos` section and unknown members inside `stats`
    /// and `compaction` survive a read and a rewrite, after the known members, with number
    /// literals unchanged.
    @Test func unknownMembersArePreserved() throws {
        var text = PrometheusBlockFixtures.metaLevel2
        text.replace("\t\"version\": 1\n}", with: """
            \t"version": 1,
            \t"thanos": {
            \t\t"labels": {
            \t\t\t"cluster": "eu-1",
            \t\t\t"replica": "a"
            \t\t},
            \t\t"downsample": {
            \t\t\t"resolution": 0
            \t\t},
            \t\t"source": "compactor",
            \t\t"segment_files": [
            \t\t\t"000001"
            \t\t],
            \t\t"files": [],
            \t\t"ratio": 1.50e+3,
            \t\t"none": null,
            \t\t"ok": false
            \t}
            }
            """)
        text.replace("\t\t\"numChunks\": 16\n", with: "\t\t\"numChunks\": 16,\n\t\t\"numFutureThings\": 3\n")
        text.replace("\t\t\"level\": 2,\n", with: "\t\t\"level\": 2,\n\t\t\"future\": {},\n")
        let meta = try Self.decode(text)
        #expect(meta.unknownMembers.map(\.key) == ["thanos"])
        #expect(meta.stats.unknownMembers.map(\.key) == ["numFutureThings"])
        // Unknown members come after the known ones when written back.
        var expected = text
        expected.replace("\t\t\"level\": 2,\n\t\t\"future\": {},\n", with: "\t\t\"level\": 2,\n")
        expected.replace("\t\t\t}\n\t\t]\n\t},\n\t\"version\"", with: "\t\t\t}\n\t\t],\n\t\t\"future\": {}\n\t},\n\t\"version\"")
        #expect(String(decoding: meta.encoded(), as: UTF8.self) == expected)
        // Changing known fields keeps the unknown ones.
        var changed = meta
        changed.stats.numTombstones = 4
        let rewritten = try Self.decode(String(decoding: changed.encoded(), as: UTF8.self))
        #expect(rewritten == changed)
        #expect(rewritten.unknownMembers == meta.unknownMembers)
    }

    @Test func unknownMembersOfParentsAreKeptAndStringsReencodedGoStyle() throws {
        let meta = try Self.decode(#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":1,"compaction":{"level":2,"parents":[{"x":[1,{"y":"a\u003cb\/\ud83d\ude00\ud800"}],"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2}]}}"#)
        #expect(meta.compaction.parents.first?.unknownMembers.map(\.key) == ["x"])
        #expect(String(decoding: meta.encoded(), as: UTF8.self).contains("""
            \t\t\t\t"maxTime": 2,
            \t\t\t\t"x": [
            \t\t\t\t\t1,
            \t\t\t\t\t{
            \t\t\t\t\t\t"y": "a\\u003cb/😀\u{FFFD}"
            \t\t\t\t\t}
            \t\t\t\t]
            \t\t\t}
            """))
    }

    @Test func compactJSONAndOtherWhitespaceDecode() throws {
        let meta = try Self.decode(#" {"version":1,"maxTime":20,"ulid":"01arz3ndektsv4rrffq69g5fav","minTime":10,"stats":null,"compaction":{"level":1,"sources":null,"hints":["a"]},"minTime":11} "#)
        #expect(meta.minTime == 11)  // Go: the last of repeated keys wins
        #expect(meta.ulid.description == "01ARZ3NDEKTSV4RRFFQ69G5FAV")
        #expect(meta.compaction.hints == ["a"] && meta.compaction.sources.isEmpty)
        #expect(meta.stats == BlockMeta.Stats())
    }

    @Test(arguments: [
        ("", "expected a JSON value"),
        ("[]", "top level"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2}"#, "version (none)"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":2}"#, "unexpected meta file version 2"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":1.0}"#, "version: expected a 64-bit integer"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAI","minTime":1,"maxTime":2,"version":1}"#, "is not a ULID"),
        (#"{"ulid":"81ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":1}"#, "is not a ULID"),
        (#"{"minTime":1,"maxTime":2,"version":1}"#, "missing member \"ulid\""),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":"1","maxTime":2,"version":1}"#, "minTime: expected a 64-bit integer"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":9223372036854775808,"maxTime":2,"version":1}"#, "minTime"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":1,"stats":{"numSamples":-1}}"#, "stats.numSamples"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":1,"compaction":{"deletable":1}}"#, "compaction.deletable"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":1,"compaction":{"parents":[{"ulid":5}]}}"#, "compaction.parents[0].ulid"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":1} x"#, "expected end of JSON"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":01,"maxTime":2,"version":1}"#, "leading zero"),
        (#"{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":1,"maxTime":2,"version":1,"x":"\q"}"#, "invalid escape"),
    ])
    func invalidFilesAreCorruptionNamingTheFile(text: String, message: String) {
        let error = #expect(throws: TSDBError.self) {
            _ = try Self.decode(text, file: "/data/01ARZ3NDEKTSV4RRFFQ69G5FAV/meta.json")
        }
        #expect(error?.code == .corruption)
        #expect(error?.location?.file == "/data/01ARZ3NDEKTSV4RRFFQ69G5FAV/meta.json")
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test func syntaxErrorsCarryTheOffset() {
        let text = "{\n\t\"ulid\": tru\n}"
        let error = #expect(throws: TSDBError.self) { _ = try Self.decode(text) }
        #expect(error?.location == TSDBError.Location(file: "meta.json", offset: 11))
    }

    /// Random truncations, bit flips and deep nesting never trap.
    @Test func damagedBytesNeverTrap() {
        var rng = SeededRandom.fromEnvironment()
        let good = Array(PrometheusBlockFixtures.metaLevel3.utf8)
        for _ in 0..<3000 {
            var bytes = good
            switch rng.next() % 3 {
            case 0: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            case 1: bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
            default: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            do { _ = try BlockMeta(decoding: bytes, file: "meta.json") } catch { #expect(error.code == .corruption, "seed \(rng.seed)") }
        }
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(throws: TSDBError.self) { try BlockMeta(decoding: deep, file: "meta.json") }
    }

    @Test func writeAndReadFilesCrashSafely() throws {
        try TemporaryDirectory.with { dir in
            let meta = try Self.decode(PrometheusBlockFixtures.metaLevel3)
            let size = try meta.write(blockDirectory: dir, sys: .system)
            #expect(size == PrometheusBlockFixtures.metaLevel3.utf8.count)
            #expect(FileManager.default.contents(atPath: dir + "/meta.json") == Data(PrometheusBlockFixtures.metaLevel3.utf8))
            #expect(!FileManager.default.fileExists(atPath: dir + "/meta.json.tmp"))
            #expect(try BlockMeta.read(blockDirectory: dir, sys: .system) == meta)
            let error = #expect(throws: TSDBError.self) { try BlockMeta.read(blockDirectory: dir + "/missing", sys: .system) }
            #expect(error?.code == .notFound)
        }
    }

    @Test func failedWriteLeavesTheOldFile() throws {
        try TemporaryDirectory.with { dir in
            let old = try Self.decode(PrometheusBlockFixtures.metaLevel2)
            try old.write(blockDirectory: dir, sys: .system)
            var sys = Syscalls.system
            sys.fdatasync = { _ in -EIO }
            sys.fsync = sys.fdatasync  // directories too, as one count
            var new = old
            new.compaction.failed = true
            #expect(throws: TSDBError.self) { try new.write(blockDirectory: dir, sys: sys) }
            #expect(try BlockMeta.read(blockDirectory: dir, sys: .system) == old)
        }
    }

    @Test(.enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
    func promtoolBlocksReadAndWriteBackByteForByte() throws {
        try TemporaryDirectory.with { dir in
            try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", "--quiet",
                              Repository.path("Fixtures/chunks/input.om"), dir + "/data"])
            let blocks = try FileManager.default.contentsOfDirectory(atPath: dir + "/data").filter { ULID($0) != nil }
            #expect(blocks.count == 16)
            for name in blocks {
                let path = dir + "/data/" + name
                let original = try #require(FileManager.default.contents(atPath: path + "/meta.json"))
                let meta = try BlockMeta.read(blockDirectory: path, sys: .system)
                #expect(meta.ulid.description == name)
                #expect(meta.compaction.level == 1 && meta.compaction.sources == [meta.ulid])
                #expect(meta.minTime < meta.maxTime)
                #expect(Data(meta.encoded()) == original, "\(name)")
                // Rewritten by us, promtool still reads the block.
                try meta.write(blockDirectory: path, sys: .system)
            }
            let listing = try Promtool.run(["tsdb", "list", dir + "/data"])
            #expect(blocks.allSatisfy { listing.contains($0) })
        }
    }
}
