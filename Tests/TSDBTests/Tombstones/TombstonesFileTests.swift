import Foundation
import Testing
import TSDBTestSupport

@testable import TSDB

/// The `tombstones` file (FORMAT.md §9.3) against files Prometheus 2.42 wrote, round trips,
/// and damage.
@Suite(.heavy) struct TombstonesFileTests {
    typealias Fixtures = PrometheusBlockFixtures

    static func set(_ entries: [(UInt64, Int64, Int64)]) -> TombstoneSet {
        TombstoneSet(entries.map { (ref: $0.0, interval: TombstoneInterval(minTime: $0.1, maxTime: $0.2)) })
    }

    @Test func emptyFileMatchesPrometheus() throws {
        let bytes = TombstonesFile.encode(TombstoneSet())
        #expect(bytes == Fixtures.bytes(hex: Fixtures.emptyTombstones))
        #expect(bytes == [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0])
        #expect(try TombstonesFile.decode(bytes).isEmpty)
    }

    @Test func oneSeriesFileMatchesPrometheusByteForByte() throws {
        let bytes = Fixtures.bytes(hex: Fixtures.tombstonesOneSeries)
        let decoded = try TombstonesFile.decode(bytes)
        #expect(decoded == Self.set(Fixtures.tombstonesOneSeriesContent))
        #expect(decoded.intervalCount == 2)  // the block's meta.json says numTombstones 2
        #expect(TombstonesFile.encode(decoded) == bytes)
    }

    /// Prometheus wrote these six series in Go's map order; we read them in any order and
    /// write them in ascending order, which Prometheus reads back the same.
    @Test func sixSeriesFileInGoMapOrderDecodes() throws {
        let bytes = Fixtures.bytes(hex: Fixtures.tombstonesSixSeries)
        let decoded = try TombstonesFile.decode(bytes)
        let expected = Self.set(Fixtures.tombstonesSixSeriesContent)
        #expect(decoded == expected)
        #expect(decoded.intervalCount == 6)
        let ours = TombstonesFile.encode(decoded)
        #expect(ours.count == bytes.count && ours.prefix(5) == bytes.prefix(5))
        #expect(try TombstonesFile.decode(ours) == expected)
    }

    @Test func exactBytesOfASmallFile() {
        let set = Self.set([(1, -1, 1), (0x80, .min, .max)])
        let crcInput: [UInt8] = [0x01, 0x01, 0x02] + [0x80, 0x01] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
            + [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        let crc = CRC32C.checksumPortable(crcInput)
        let expected: [UInt8] = [0x01, 0x30, 0xBA, 0x30, 0x01] + crcInput
            + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        #expect(TombstonesFile.encode(set) == expected)
    }

    /// Random sets survive a round trip, and so does any order of their entries.
    @Test func randomRoundTrips() throws {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<300 {
            var set = TombstoneSet()
            var stones: [(ref: UInt64, interval: TombstoneInterval)] = []
            for _ in 0..<Int(rng.next() % 40) {
                let ref = rng.next() % 4 == 0 ? rng.next() : rng.next() % 16
                let a = Int64(bitPattern: rng.next() % 3 == 0 ? rng.next() : rng.next() % 10_000)
                let b = a &+ Int64(rng.next() % 500)
                let interval = TombstoneInterval(minTime: min(a, b), maxTime: max(a, b))
                set.add(ref: ref, interval)
                stones.append((ref, interval))
            }
            let bytes = TombstonesFile.encode(set)
            #expect(try TombstonesFile.decode(bytes) == set, "seed \(rng.seed)")
            stones.shuffle(using: &rng)
            #expect(TombstoneSet(stones) == set, "seed \(rng.seed)")
        }
    }

    @Test(arguments: [
        ("", 0, "expected at least 9"),
        ("0130ba30010000", 0, "expected at least 9"),
        ("0130ba31 01 00000000", 0, "magic"),
        ("0130ba30 01 00000001", 5, "CRC32C"),
        ("0130ba30 02 00000000", 4, "version 1, found 2"),
    ])
    func damagedHeadersAreCorruptionWithOffset(hex: String, offset: Int, message: String) {
        let bytes = PrometheusBlockFixtures.bytes(hex: hex.replacingOccurrences(of: " ", with: ""))
        let error = #expect(throws: TSDBError.self) { try TombstonesFile.decode(bytes, file: "b/tombstones") }
        #expect(error?.code == .corruption)
        #expect(error?.location == TSDBError.Location(file: "b/tombstones", offset: offset))
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    /// A truncated entry with a valid CRC (as a buggy writer would leave it) names the
    /// offset of the varint that runs out.
    @Test func truncatedEntryNamesItsOffset() {
        let entries: [UInt8] = [0x07, 0x02, 0x04, 0x09, 0x80]  // ref 7 [1, 2], then ref 9 with a cut varint
        let crc = CRC32C.checksumPortable(entries)
        let bytes: [UInt8] = [0x01, 0x30, 0xBA, 0x30, 0x01] + entries
            + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        let error = #expect(throws: TSDBError.self) { try TombstonesFile.decode(bytes, file: "t") }
        #expect(error?.location == TSDBError.Location(file: "t", offset: 9))
    }

    /// Truncations and byte flips of real files: every one is rejected (the CRC catches
    /// them), none traps.
    @Test func damagedFilesNeverTrap() {
        var rng = SeededRandom.fromEnvironment()
        let good = Fixtures.bytes(hex: Fixtures.tombstonesSixSeries)
        for _ in 0..<5000 {
            var bytes = good
            if rng.next() % 2 == 0 {
                bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            } else {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            }
            let error = #expect(throws: TSDBError.self, "seed \(rng.seed)") { try TombstonesFile.decode(bytes, file: "t") }
            #expect(error?.code == .corruption)
        }
        for _ in 0..<2000 {  // random bodies with a correct CRC: decode or fail, never trap
            var body = [UInt8](repeating: 0, count: Int(rng.next() % 40))
            for i in body.indices { body[i] = UInt8(truncatingIfNeeded: rng.next()) }
            let crc = CRC32C.checksumPortable(body)
            let bytes = [0x01, 0x30, 0xBA, 0x30, 0x01] + body + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
            _ = try? TombstonesFile.decode(bytes)
        }
    }

    @Test func filesAreWrittenCrashSafelyAndAMissingFileIsEmpty() throws {
        try TemporaryDirectory.with { dir in
            let missing = try TombstonesFile.read(blockDirectory: dir, sys: .system)
            #expect(missing.tombstones.isEmpty && missing.size == 0)

            #expect(try TombstonesFile.write(TombstoneSet(), blockDirectory: dir, sys: .system) == 9)
            #expect(FileManager.default.contents(atPath: dir + "/tombstones") == Data(Fixtures.bytes(hex: Fixtures.emptyTombstones)))

            let set = Self.set(Fixtures.tombstonesOneSeriesContent)
            try TombstonesFile.write(set, blockDirectory: dir, sys: .system)
            #expect(!FileManager.default.fileExists(atPath: dir + "/tombstones.tmp"))
            let read = try TombstonesFile.read(blockDirectory: dir, sys: .system)
            #expect(read.tombstones == set && read.size == 35)

            var sys = Syscalls.system
            sys.rename = { _, _ in -ENOSPC }
            #expect(throws: TSDBError.self) { try TombstonesFile.write(TombstoneSet(), blockDirectory: dir, sys: sys) }
            #expect(try TombstonesFile.read(blockDirectory: dir, sys: .system).tombstones == set)

            #expect(FileManager.default.createFile(atPath: dir + "/tombstones", contents: Data([1, 2, 3])))
            let error = #expect(throws: TSDBError.self) { try TombstonesFile.read(blockDirectory: dir, sys: .system) }
            #expect(error?.location?.file == dir + "/tombstones")
        }
    }

    /// Prometheus reads our tombstones: random deletions written into a promtool block
    /// (with its meta.json rewritten by us) hide exactly those samples from `promtool tsdb
    /// dump`. Series 7 of the block starting at 1700006400011 is
    /// `fx_http_requests_total{code="200"}` (the ref Prometheus's own delete used, above).
    @Test(.enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
    func promtoolHonoursOurTombstones() throws {
        try TemporaryDirectory.with { dir in
            let data = dir + "/data"
            try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", "--quiet", Repository.path("Fixtures/chunks/input.om"), data])
            try FileManager.default.createDirectory(atPath: data + "/wal", withIntermediateDirectories: true)  // 2.42's dump needs it
            var block: (path: String, meta: BlockMeta)?
            for name in try FileManager.default.contentsOfDirectory(atPath: data) where ULID(name) != nil {
                let meta = try BlockMeta.read(blockDirectory: data + "/" + name, sys: .system)
                if meta.minTime == 1_700_006_400_011 { block = (data + "/" + name, meta) }
            }
            let (path, meta) = try #require(block)
            func dump() throws -> [Substring] {
                try Promtool.run(["tsdb", "dump", "--min-time=\(meta.minTime)", "--max-time=\(meta.maxTime)", data])
                    .split(separator: "\n")
            }
            let before = try dump()
            let target = "{__name__=\"fx_http_requests_total\", code=\"200\", job=\"api\"} "
            #expect(before.count { $0.hasPrefix(target) } > 300)

            var rng = SeededRandom.fromEnvironment()
            var set = TombstoneSet()
            for _ in 0..<6 {
                let start = meta.minTime + Int64(rng.next() % 7_000_000)
                set.add(ref: 7, TombstoneInterval(minTime: start, maxTime: start + Int64(rng.next() % 600_000)))
            }
            set.add(ref: 1 << 40, TombstoneInterval(minTime: .min, maxTime: .max))  // no such series: ignored
            try TombstonesFile.write(set, blockDirectory: path, sys: .system)
            var updated = meta
            updated.stats.numTombstones = UInt64(set.intervalCount)
            try updated.write(blockDirectory: path, sys: .system)

            let expected = before.filter { line in
                guard line.hasPrefix(target), let t = line.split(separator: " ").last.flatMap({ Int64($0) }) else { return true }
                return !set.isDeleted(ref: 7, at: t)
            }
            #expect(expected.count < before.count, "seed \(rng.seed)")
            #expect(try dump() == expected, "seed \(rng.seed)")
        }
    }

    /// promtool writes an empty tombstones file into every block; ours is the same.
    @Test(.enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
    func promtoolEmptyTombstonesMatch() throws {
        try TemporaryDirectory.with { dir in
            try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", "--quiet",
                              Repository.path("Fixtures/chunks/input.om"), dir + "/data"])
            let blocks = try FileManager.default.contentsOfDirectory(atPath: dir + "/data").filter { ULID($0) != nil }
            #expect(!blocks.isEmpty)
            for name in blocks {
                let path = dir + "/data/" + name
                #expect(FileManager.default.contents(atPath: path + "/tombstones") == Data(TombstonesFile.encode(TombstoneSet())))
                #expect(try TombstonesFile.read(blockDirectory: path, sys: .system).tombstones.isEmpty)
            }
        }
    }
}
