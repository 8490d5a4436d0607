import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Damage to a WAL written by a `DB`, found by `DB.open` (FORMAT.md §6.6): a torn or damaged
/// tail is cut, damage followed by good records is an error unless `repairWAL` is set.
@Suite(.heavy) struct WALCorruptionTests {
    /// A WAL of `commits` commits in one segment, closed; and the record of what went in.
    static func writeWAL(commits: Int, seriesCount: Int, compression: WALCompression = .snappy, seed: UInt64) throws -> (segment: [UInt8], log: CommitLog) {
        try TemporaryDirectory.with { dir in
            var options = Options()
            options.walCompression = compression
            let db = try DB.open(directory: dir, options: options)
            var log = try CommitLog(seriesCount: seriesCount, rng: SeededRandom(seed: seed))
            for k in 1...commits {
                if let error = log.commit(k, to: db) { throw error }
            }
            try db.close()
            let segments = try WALTest.segments(dir + "/wal")
            #expect(segments.keys.sorted() == [0])
            return (segments[0]!, log)
        }
    }

    static func open(_ dir: String, repair: Bool = false) throws(TSDBError) -> DB {
        var options = Options()
        options.repairWAL = repair
        return try DB.open(directory: dir, options: options)
    }

    // MARK: Damage at the tail: cut away, the rest kept

    /// The last commit's samples record sits in `(start, end)` of segment 0.
    @Test(arguments: [(3, WALCompression.snappy), (4000, .none)])
    func truncatedLastRecordIsCutAway(seriesCount: Int, compression: WALCompression) throws {
        var rng = SeededRandom.fromEnvironment()
        let (segment, log) = try Self.writeWAL(commits: 6, seriesCount: seriesCount, compression: compression, seed: rng.next())
        let last = try #require(log.spans[6])
        for _ in 0..<12 {
            let cut = last.start.offset + 1 + Int(rng.next() % UInt64(last.end.offset - last.start.offset - 1))
            try TemporaryDirectory.withWAL([0: Array(segment[0..<cut])]) { dir in
                let db = try Self.open(dir)
                #expect(try log.committed(in: db) == Array(1...5), "cut at \(cut), seed \(rng.seed)")
                let notes = db.replayStats.notes.joined(separator: "\n")
                #expect(notes.contains("00000000") && notes.contains("offset \(last.start.offset) "), "\(notes)")
                #expect(db.replayStats.droppedBytes == cut - last.start.offset)
                try db.close()
                // The cut is permanent: the next open finds a clean log.
                let again = try Self.open(dir)
                #expect(again.replayStats.notes.isEmpty)
                #expect(try log.committed(in: again) == Array(1...5))
                try again.close()
            }
        }
    }

    @Test func truncatedAtARecordBoundaryNeedsNoRepair() throws {
        let (segment, log) = try Self.writeWAL(commits: 4, seriesCount: 3, seed: 1)
        let last = try #require(log.spans[4])
        try TemporaryDirectory.withWAL([0: Array(segment[0..<last.start.offset])]) { dir in
            let db = try Self.open(dir)
            #expect(try log.committed(in: db) == [1, 2, 3])
            #expect(db.replayStats.notes.isEmpty)
            try db.close()
        }
    }

    @Test(arguments: [(3, WALCompression.snappy), (3, .none), (4000, .none), (3, .lz4)])
    func flippedBitInTheLastRecordDropsOnlyTheLastCommit(seriesCount: Int, compression: WALCompression) throws {
        var rng = SeededRandom.fromEnvironment()
        let (segment, log) = try Self.writeWAL(commits: 6, seriesCount: seriesCount, compression: compression, seed: rng.next())
        let last = try #require(log.spans[6])
        for _ in 0..<24 {
            var bytes = segment
            let at = last.start.offset + Int(rng.next() % UInt64(last.end.offset - last.start.offset))
            bytes[at] ^= UInt8(1 << (rng.next() % 8))
            try TemporaryDirectory.withWAL([0: bytes]) { dir in
                let db = try Self.open(dir)
                #expect(try log.committed(in: db) == Array(1...5), "bit flipped at \(at), seed \(rng.seed)")
                try db.close()
            }
        }
    }

    @Test func zeroedTailIsCutAway() throws {
        var rng = SeededRandom.fromEnvironment()
        let (segment, log) = try Self.writeWAL(commits: 6, seriesCount: 3, compression: .none, seed: rng.next())
        let last = try #require(log.spans[6])
        for _ in 0..<12 {
            var bytes = segment
            let from = last.start.offset + 1 + Int(rng.next() % UInt64(last.end.offset - last.start.offset - 1))
            guard bytes[from..<last.end.offset].contains(where: { $0 != 0 }) else { continue }
            for i in from..<bytes.count { bytes[i] = 0 }
            try TemporaryDirectory.withWAL([0: bytes]) { dir in
                let db = try Self.open(dir)
                #expect(try log.committed(in: db) == Array(1...5), "zeroed from \(from), seed \(rng.seed)")
                if from >= last.start.offset + 7 {
                    // Header intact, data changed: a checksum mismatch, reported.
                    #expect(db.replayStats.notes.joined().contains("offset \(last.start.offset) "), "zeroed from \(from)")
                }
                try db.close()
            }
        }
    }

    @Test func garbageAfterTheLastRecordIsCutAway() throws {
        var rng = SeededRandom.fromEnvironment()
        let (segment, log) = try Self.writeWAL(commits: 5, seriesCount: 3, seed: rng.next())
        for length in [1, 6, 7, 100, 5000, 40_000] {
            var garbage = WALTest.randomBytes(length, &rng)
            if garbage.allSatisfy({ $0 == 0 }) { garbage[0] = 1 }
            try TemporaryDirectory.withWAL([0: segment + garbage]) { dir in
                let db = try Self.open(dir)
                #expect(try log.committed(in: db) == Array(1...5), "\(length) bytes of garbage, seed \(rng.seed)")
                let notes = db.replayStats.notes.joined(separator: "\n")
                #expect(notes.contains("00000000") && notes.contains("offset \(segment.count) "), "\(notes)")
                #expect(db.replayStats.droppedBytes == length)
                try db.close()
            }
        }
    }

    // MARK: Damage in the middle: an error, or dropped with repair

    @Test func missingSegmentInTheMiddleIsCorruption() throws {
        try TemporaryDirectory.with { dir in
            var log = try CommitLog(seriesCount: 2, rng: SeededRandom(seed: 3))
            for session in 0..<3 {
                let db = try Self.open(dir)
                log.commit(session + 1, to: db)
                try db.close()
            }
            #expect(try WALTest.segments(dir + "/wal").keys.sorted() == [0, 1, 2])
            try FileManager.default.removeItem(atPath: WALTest.segmentPath(dir + "/wal", 1))
            for repair in [false, true] {
                do throws(TSDBError) {
                    _ = try Self.open(dir, repair: repair)
                    Issue.record("open should fail")
                } catch {
                    #expect(error.code == .corruption)
                    #expect(error.message.contains("00000001"))
                    #expect(error.location?.file == WALTest.segmentPath(dir + "/wal", 1))
                }
            }
        }
    }

    /// A flipped bit in the data of commit 10 of 20: records after it are good, so this is
    /// not a torn tail.
    @Test func flippedBitInTheMiddleIsCorruptionUnlessRepaired() throws {
        var rng = SeededRandom.fromEnvironment()
        let (segment, log) = try Self.writeWAL(commits: 20, seriesCount: 3, seed: rng.next())
        let damaged = try #require(log.spans[10])
        let header = WALTest.header(segment, at: damaged.start.offset)
        var bytes = segment
        let at = damaged.start.offset + 7 + Int(rng.next() % UInt64(header.length))
        bytes[at] ^= UInt8(1 << (rng.next() % 8))
        try TemporaryDirectory.withWAL([0: bytes]) { dir in
            let path = WALTest.segmentPath(dir + "/wal", 0)
            do throws(TSDBError) {
                _ = try Self.open(dir)
                Issue.record("open should fail")
            } catch {
                #expect(error.code == .corruption, "\(error)")
                #expect(error.location?.file == path)
                #expect(error.location?.offset == damaged.start.offset)
            }
            #expect(try TestFiles.read(path) == bytes, "a failed open changes nothing")

            let db = try Self.open(dir, repair: true)
            #expect(try log.committed(in: db) == Array(1...9))
            #expect(db.replayStats.droppedBytes == bytes.count - damaged.start.offset)
            let notes = db.replayStats.notes.joined(separator: "\n")
            #expect(notes.contains("repair") && notes.contains("offset \(damaged.start.offset) "), "\(notes)")
            try db.close()
            let again = try Self.open(dir)
            #expect(try log.committed(in: again) == Array(1...9))
            try again.close()
        }
    }

    /// Damage at the end of a segment that a later segment with data follows: the later
    /// data would be replayed without what was lost, so it is an error too.
    @Test func damagedTailOfAnEarlierSegmentIsCorruptionUnlessRepaired() throws {
        try TemporaryDirectory.with { dir in
            var log = try CommitLog(seriesCount: 3, rng: SeededRandom(seed: 5))
            var db = try Self.open(dir)
            for k in 1...4 { log.commit(k, to: db) }
            try db.close()
            db = try Self.open(dir)
            for k in 5...8 { log.commit(k, to: db) }
            try db.close()
            let path = WALTest.segmentPath(dir + "/wal", 0)
            var bytes = try TestFiles.read(path)
            let last = try #require(log.spans[4])
            bytes[last.start.offset + 8] ^= 0x10
            try TestFiles.write(bytes, to: path)
            do throws(TSDBError) {
                _ = try Self.open(dir)
                Issue.record("open should fail")
            } catch {
                #expect(error.code == .corruption)
                #expect(error.location == TSDBError.Location(file: path, offset: last.start.offset))
            }
            db = try Self.open(dir, repair: true)
            #expect(try log.committed(in: db) == [1, 2, 3])
            #expect(db.replayStats.notes.joined().contains("deleting 1 later segment"))
            try db.close()
        }
    }

    /// A record whose checksums hold but whose payload does not decode (the header's flag
    /// bits are not covered by the checksum) is damage at that record.
    @Test func undecodableRecordIsDamageAtThatRecord() throws {
        let (segment, log) = try Self.writeWAL(commits: 8, seriesCount: 3, compression: .none, seed: 9)
        for (k, expectError) in [(8, false), (4, true)] {
            let span = try #require(log.spans[k])
            var bytes = segment
            // Make the last sample's ref delta an overlong varint and fix the checksum:
            // every fragment is valid, the payload is not.
            let h = WALTest.header(bytes, at: span.start.offset)
            #expect(h.type == 0x01)
            let dataStart = span.start.offset + 7
            for i in (dataStart + h.length - 10)..<(dataStart + h.length) { bytes[i] = 0xff }
            let crc = CRC32C.checksum(Array(bytes[dataStart..<(dataStart + h.length)]))
            bytes.replaceSubrange((span.start.offset + 3)..<dataStart, with: [UInt8(crc >> 24), UInt8((crc >> 16) & 0xff), UInt8((crc >> 8) & 0xff), UInt8(crc & 0xff)])
            try TemporaryDirectory.withWAL([0: bytes]) { dir in
                if expectError {
                    #expect(throws: TSDBError.self) { _ = try Self.open(dir) }
                    let db = try Self.open(dir, repair: true)
                    let committed = try log.committed(in: db)
                    #expect(committed == Array(1..<k), "\(committed) \(db.replayStats)")
                    try db.close()
                } else {
                    let db = try Self.open(dir)
                    let committed = try log.committed(in: db)
                    #expect(committed == Array(1..<k), "\(committed) \(db.replayStats)")
                    #expect(db.replayStats.notes.joined().contains("does not decode"))
                    try db.close()
                }
            }
        }
    }

    /// A zstd record (Prometheus ≥ 2.51) is data this engine cannot read: open fails with
    /// `.unsupported` and cuts nothing, even with repair. The zstd flag on bytes that are
    /// not a zstd frame is a damaged header, cut like any damaged tail.
    @Test func zstdRecordIsUnsupportedNeverCut() throws {
        func fragment(_ type: UInt8, _ data: [UInt8]) -> [UInt8] {
            let crc = CRC32C.checksum(data)
            return [type, UInt8(data.count >> 8), UInt8(data.count & 0xff), UInt8(crc >> 24), UInt8((crc >> 16) & 0xff), UInt8((crc >> 8) & 0xff), UInt8(crc & 0xff)] + data
        }
        let (segment, log) = try Self.writeWAL(commits: 3, seriesCount: 2, compression: .none, seed: 12)
        let frame: [UInt8] = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 0x29, 0x00, 0x00, 1, 2, 3, 4, 5]
        let zstd = segment + fragment(0x11, frame)
        try TemporaryDirectory.withWAL([0: zstd]) { dir in
            for repair in [false, true] {
                do throws(TSDBError) {
                    _ = try Self.open(dir, repair: repair)
                    Issue.record("open should fail")
                } catch {
                    #expect(error.code == .unsupported, "\(error)")
                    #expect(error.message.contains("zstd"))
                    #expect(error.location == TSDBError.Location(file: WALTest.segmentPath(dir + "/wal", 0), offset: segment.count))
                }
            }
            let after = try TestFiles.read(WALTest.segmentPath(dir + "/wal", 0))
            #expect(after == zstd, "nothing was cut")
        }
        try TemporaryDirectory.withWAL([0: segment + fragment(0x11, [2, 0, 0, 0])]) { dir in
            let db = try Self.open(dir)
            #expect(try log.committed(in: db) == [1, 2, 3])
            #expect(db.replayStats.notes.joined().contains("no zstd frame"))
            try db.close()
        }
    }
}

