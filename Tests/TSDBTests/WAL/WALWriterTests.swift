import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The segment writer and `SegmentReader` (FORMAT.md §6): the bytes on disk, read raw.
@Suite(.heavy) struct WALWriterTests {
    static let page = WALTest.page

    static func openWAL(_ dir: String, segmentPages: Int = 4096, compression: WALCompression = .none, sync: WALSyncMode = .onSegmentCut, sys: Syscalls = .system) throws -> WAL {
        try WAL(directory: dir, options: WALOptions(segmentSize: segmentPages * page, compression: compression, syncMode: sync), sys: sys)
    }

    // MARK: Exact layout

    @Test func smallRecordsEmptyRecordAndASplitRecordByteForByte() throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 1)
            let digits = Array("123456789".utf8)
            let big = WALTest.randomBytes(Self.page - 7, &rng)
            let wal = try Self.openWAL(dir)
            try wal.log([digits])
            try wal.log([[]])
            #expect(wal.position == (0, 23))
            try wal.log([big])
            try wal.close()

            let bytes = try TestFiles.read(WALTest.segmentPath(dir, 0))
            #expect(bytes.count == 2 * Self.page, "the last page is padded on close")
            // CRC-32C("123456789") is the standard check value e3069283.
            #expect(Array(bytes[0..<16]) == [0x01, 0x00, 0x09, 0xe3, 0x06, 0x92, 0x83] + digits)
            // An empty record: type full, length 0, CRC-32C of nothing = 0.
            #expect(Array(bytes[16..<23]) == [0x01, 0, 0, 0, 0, 0, 0])
            // The 32761-byte record does not fit in the 32738 bytes left: first + last.
            let first = WALTest.header(bytes, at: 23)
            #expect(first.type == 0x02 && first.length == Self.page - 23 - 7)
            #expect(first.crc == CRC32C.checksum(Array(big[0..<first.length])))
            #expect(Array(bytes[30..<Self.page]) == Array(big[0..<first.length]))
            let last = WALTest.header(bytes, at: Self.page)
            #expect(last.type == 0x04 && last.length == big.count - first.length)
            #expect(last.crc == CRC32C.checksum(Array(big[first.length...])))
            #expect(Array(bytes[(Self.page + 7)..<(Self.page + 7 + last.length)]) == Array(big[first.length...]))
            #expect(bytes[(Self.page + 7 + last.length)...].allSatisfy { $0 == 0 }, "page padding is zeros")
            #expect(try WALTest.records(bytes) == [digits, [], big])
        }
    }

    @Test func recordSpanningManyPagesUsesFirstMiddleLast() throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 2)
            let record = WALTest.randomBytes(3 * Self.page, &rng)
            let wal = try Self.openWAL(dir)
            try wal.log([record])
            try wal.close()
            let bytes = try TestFiles.read(WALTest.segmentPath(dir, 0))
            #expect(bytes.count == 4 * Self.page)
            var consumed = 0
            for (i, expectedType) in [UInt8(2), 3, 3, 4].enumerated() {
                let h = WALTest.header(bytes, at: i * Self.page)
                #expect(h.type == expectedType, "page \(i)")
                #expect(h.length == (i < 3 ? Self.page - 7 : record.count - 3 * (Self.page - 7)), "page \(i)")
                let data = Array(bytes[(i * Self.page + 7)..<(i * Self.page + 7 + h.length)])
                #expect(data == Array(record[consumed..<(consumed + h.length)]))
                #expect(h.crc == CRC32C.checksum(data))
                consumed += h.length
            }
            #expect(consumed == record.count)
            #expect(bytes[(3 * Self.page + 7 + 21)...].allSatisfy { $0 == 0 })
            #expect(try WALTest.records(bytes) == [record])
        }
    }

    @Test func pageEndingWithFewerThanSevenBytesIsPadded() throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 3)
            // 7 + 32755 = 32762 bytes: 6 bytes are left, too few for a header.
            let a = WALTest.randomBytes(Self.page - 13, &rng)
            let b = WALTest.randomBytes(10, &rng)
            let wal = try Self.openWAL(dir)
            try wal.log([a])
            #expect(wal.position == (0, Self.page), "the page was completed and padded")
            try wal.log([b])
            try wal.close()
            let bytes = try TestFiles.read(WALTest.segmentPath(dir, 0))
            #expect(Array(bytes[(Self.page - 6)..<Self.page]) == [0, 0, 0, 0, 0, 0])
            #expect(WALTest.header(bytes, at: Self.page).type == 0x01)
            #expect(try WALTest.records(bytes) == [a, b])
        }
    }

    @Test func segmentIsCutWhenARecordDoesNotFit() throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 4)
            let a = WALTest.randomBytes(100_000, &rng)   // pages 0–3; 31037 bytes fit after it
            let b = WALTest.randomBytes(40_000, &rng)    // does not fit: segment 1
            let c = WALTest.randomBytes(31_000, &rng)    // fits after b in segment 1
            let wal = try Self.openWAL(dir, segmentPages: 4)
            try wal.log([a])
            try wal.log([b])
            #expect(wal.segmentIndex == 1)
            try wal.log([c])
            try wal.close()
            let segments = try WALTest.segments(dir)
            #expect(segments.keys.sorted() == [0, 1])
            #expect(segments[0]?.count == 4 * Self.page, "the cut pads the last page of segment 0")
            #expect(segments[0].map { WALTest.header($0, at: 3 * Self.page).type } == 0x04)
            #expect(segments[1].map { WALTest.header($0, at: 0).type } == 0x02)
            #expect(try WALTest.records(segments[0]!) == [a])
            #expect(try WALTest.records(segments[1]!) == [b, c])
        }
    }

    @Test func recordLargerThanASegmentGetsASegmentOfItsOwn() throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 5)
            let small = WALTest.randomBytes(10, &rng)
            let huge = WALTest.randomBytes(5 * Self.page, &rng)
            let wal = try Self.openWAL(dir, segmentPages: 4)
            try wal.log([small])
            try wal.log([huge])
            try wal.log([small])
            try wal.close()
            let segments = try WALTest.segments(dir)
            #expect(segments.keys.sorted() == [0, 1, 2])
            #expect(segments[1]?.count == 6 * Self.page, "as Prometheus: longer than the segment size")
            #expect(try WALTest.records(segments[1]!) == [huge])
            #expect(try WALTest.records(segments[2]!) == [small])
        }
    }

    /// Random batches of awkward sizes against a model written from Prometheus's `wlog.go`.
    @Test(arguments: [4, 7, 64])
    func randomBatchesMatchPrometheusLayoutByteForByte(segmentPages: Int) throws {
        var rng = SeededRandom.fromEnvironment()
        let sizes = [0, 1, 2, 6, 7, 8, Self.page - 14, Self.page - 8, Self.page - 7, Self.page - 6, Self.page, Self.page + 1, 2 * Self.page, 3 * Self.page + 5]
        var batches: [[[UInt8]]] = []
        for _ in 0..<60 {
            batches.append((0..<(1 + Int(rng.next() % 3))).map { _ in
                let size = rng.next() % 3 == 0 ? Int(rng.next() % UInt64(4 * Self.page)) : sizes[Int(rng.next() % UInt64(sizes.count))]
                return WALTest.randomBytes(size, &rng)
            })
        }
        try TemporaryDirectory.with { dir in
            let wal = try Self.openWAL(dir, segmentPages: segmentPages)
            for batch in batches { try wal.log(batch) }
            try wal.close()
            let expected = WALTest.prometheusLayout(batches, pagesPerSegment: segmentPages)
            let actual = try WALTest.segments(dir)
            #expect(actual.keys.sorted() == Array(0..<expected.count), "seed \(rng.seed)")
            var all: [[UInt8]] = []
            for (i, segment) in expected.enumerated() {
                let bytes = actual[i] ?? []
                let firstDifference = (0..<min(bytes.count, segment.count)).first { bytes[$0] != segment[$0] } ?? min(bytes.count, segment.count)
                #expect(bytes.count == segment.count && firstDifference == segment.count,
                        "segment \(i): \(bytes.count) bytes, expected \(segment.count); first difference at \(firstDifference); seed \(rng.seed)")
                all += try WALTest.records(actual[i] ?? [])
            }
            #expect(all == batches.flatMap { $0 }, "seed \(rng.seed)")
        }
    }

    // MARK: Compression

    @Test(arguments: [WALCompression.none, .snappy, .lz4])
    func compressionFlagsAndPayloads(_ compression: WALCompression) throws {
        var rng = SeededRandom(seed: 6)
        let records = [WALTest.textBytes(1), WALTest.textBytes(100), WALTest.textBytes(10_000, seed: 3), WALTest.randomBytes(500, &rng), WALTest.textBytes(300_000, seed: 9)]
        try TemporaryDirectory.with { dir in
            let wal = try Self.openWAL(dir, compression: compression)
            for r in records { try wal.log([r]) }
            try wal.close()
            let bytes = try TestFiles.read(WALTest.segmentPath(dir, 0))
            #expect(try WALTest.records(bytes) == records)

            // Walk the fragments raw and reassemble each record's stored bytes.
            var stored: [(flags: UInt8, data: [UInt8])] = []
            var at = 0
            var current: [UInt8] = []
            while at < bytes.count {
                if bytes[at] == 0 { at = (at / Self.page + 1) * Self.page; continue }
                let h = WALTest.header(bytes, at: at)
                let data = Array(bytes[(at + 7)..<(at + 7 + h.length)])
                #expect(h.crc == CRC32C.checksum(data), "the checksum covers the stored (compressed) bytes")
                current += data
                if h.type & 7 == 1 || h.type & 7 == 4 {
                    stored.append((h.type & 0xf8, current))
                    current = []
                }
                at += 7 + h.length
            }
            #expect(stored.count == records.count)
            for (record, (flags, data)) in zip(records, stored) {
                switch compression {
                case .none:
                    #expect(flags == 0 && data == record)
                case .snappy where flags == 0x08:
                    #expect(try Snappy.decompress(data) == record)
                case .lz4 where flags == 0x20:
                    var r = ByteReader(data)
                    #expect(try r.readUvarint() == UInt64(record.count))
                    #expect(try LZ4.decompress(Array(data[r.offset...]), decompressedSize: record.count) == record)
                default:
                    #expect(flags == 0 && data == record, "stored raw when compression does not help")
                    #expect(record.count <= 500, "only tiny or random records stay raw")
                }
            }
            if compression != .none {
                #expect(stored[4].flags != 0 && stored[4].data.count < 100_000, "text compresses")
                #expect(stored[3].flags == 0, "random bytes stay raw")
                #expect(stored[0].flags == 0, "a 1-byte record stays raw")
            }
        }
    }

    // MARK: Reopening

    @Test func everyOpenStartsANewSegment() throws {
        try TemporaryDirectory.with { dir in
            var wal = try Self.openWAL(dir)
            #expect(wal.segmentIndex == 0)
            try wal.log([[1, 2, 3]])
            try wal.close()
            wal = try Self.openWAL(dir)
            #expect(wal.segmentIndex == 1)
            try wal.log([[4]])
            try wal.close()
            wal = try Self.openWAL(dir)
            #expect(wal.segmentIndex == 2)
            try wal.close()
            let segments = try WALTest.segments(dir)
            #expect(segments.keys.sorted() == [0, 1, 2])
            #expect(try WALTest.records(segments[0]!) == [[1, 2, 3]])
            #expect(try WALTest.records(segments[1]!) == [[4]])
            #expect(segments[2] == [], "an unused segment stays empty")
        }
    }

    @Test func closedWALRefusesWrites() throws {
        try TemporaryDirectory.with { dir in
            let wal = try Self.openWAL(dir)
            try wal.close()
            try wal.close()
            #expect(throws: TSDBError.self) { try wal.log([[1]]) }
            do throws(TSDBError) { try wal.log([[1]]) } catch { #expect(error.code == .closed) }
        }
    }

    @Test func segmentSizeMustBeAMultipleOfThePageSize() throws {
        try TemporaryDirectory.with { dir in
            for size in [0, 1000, Self.page + 1] {
                #expect(throws: TSDBError.self) {
                    _ = try WAL(directory: dir, options: WALOptions(segmentSize: size), sys: .system)
                }
            }
        }
    }

    // MARK: Reader robustness

    @Test func segmentReaderNeverTrapsOnDamagedBytes() throws {
        var rng = SeededRandom.fromEnvironment()
        try TemporaryDirectory.with { dir in
            let records = (0..<40).map { i in i % 5 == 0 ? WALTest.textBytes(50_000, seed: i) : WALTest.randomBytes(Int(rng.next() % 3000), &rng) }
            let wal = try Self.openWAL(dir, compression: .snappy)
            for r in records { try wal.log([r]) }
            try wal.close()
            let original = try TestFiles.read(WALTest.segmentPath(dir, 0))
            let offsets = try Self.recordOffsets(original)
            for trial in 0..<400 {
                var bytes = original
                let damageAt: Int
                if trial % 2 == 0 {
                    damageAt = Int(rng.next() % UInt64(bytes.count))
                    bytes.removeSubrange(damageAt...)
                } else {
                    damageAt = Int(rng.next() % UInt64(bytes.count))
                    bytes[damageAt] ^= UInt8(1 << (rng.next() % 8))
                }
                var reader = SegmentReader(bytes: bytes, path: "s")
                var read = 0
                do throws(SegmentDamage) {
                    while let (record, offset) = try reader.next() {
                        #expect(offset >= 0 && offset < bytes.count)
                        if let i = offsets.firstIndex(of: offset), offset < damageAt, i + 1 < offsets.count, offsets[i + 1] <= damageAt {
                            #expect(record == records[i], "record \(i) before the damage, seed \(rng.seed)")
                        }
                        read += 1
                    }
                } catch {
                    #expect(error.offset >= 0 && error.offset <= bytes.count, "seed \(rng.seed)")
                    #expect(error.offset <= damageAt, "damage is reported at or before the changed byte, seed \(rng.seed)")
                }
                #expect(read <= records.count + 1)
            }
        }
    }

    /// Offsets of the records in an undamaged segment, plus the end.
    static func recordOffsets(_ bytes: [UInt8]) throws -> [Int] {
        var reader = SegmentReader(bytes: bytes, path: "s")
        var out: [Int] = []
        while let (_, offset) = try reader.next() { out.append(offset) }
        return out + [reader.offset]
    }

    @Test func validRecordAfterDamageIsFoundInTheSamePageAndLaterPages() throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 8)
            let records = (0..<6).map { _ in WALTest.randomBytes(200, &rng) } + [WALTest.randomBytes(3 * Self.page, &rng), WALTest.randomBytes(100, &rng)]
            let wal = try Self.openWAL(dir)
            for r in records { try wal.log([r]) }
            try wal.close()
            let bytes = try TestFiles.read(WALTest.segmentPath(dir, 0))
            let offsets = try Self.recordOffsets(bytes)
            let reader = SegmentReader(bytes: bytes, path: "s")
            // Damage at record 2 of page 0: record 3 follows in the same page.
            #expect(reader.hasValidRecord(after: offsets[2]))
            // Damage at the 3-page record: the record after it is in a later page, behind
            // the damaged record's own middle and last fragments.
            #expect(reader.hasValidRecord(after: offsets[6]))
            // Nothing after the last record.
            #expect(!reader.hasValidRecord(after: offsets[7]))
            // A record whose length field was damaged: the chain in its page is broken,
            // but the byte-wise search finds the next record.
            var broken = bytes
            broken[offsets[1] + 1] ^= 0x40
            #expect(SegmentReader(bytes: broken, path: "s").hasValidRecord(after: offsets[1]))
        }
    }

    // MARK: Failed writes

    @Test func failedCallLeavesNothingBehindAndContinuesInANewSegment() throws {
        let faults = FaultInjector()
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 9)
            let a = WALTest.randomBytes(1000, &rng)
            let big = WALTest.randomBytes(3 * Self.page, &rng)
            let c = WALTest.randomBytes(10, &rng)
            let wal = try Self.openWAL(dir, sys: faults.syscalls)
            try wal.log([a])
            let before = wal.position
            faults.failWrite(2, .noSpace)   // the first page of `big` is written, the second fails
            do throws(TSDBError) {
                try wal.log([big])
                Issue.record("the write should fail")
            } catch {
                #expect(error.code == .io)
                #expect((error.cause as? Errno)?.code == ENOSPC)
            }
            #expect(wal.segmentIndex == 1)
            try wal.log([c])
            try wal.close()
            let segments = try WALTest.segments(dir)
            #expect(segments[0]?.count == before.offset, "truncated back to where the failed call began")
            #expect(try WALTest.records(segments[0]!) == [a])
            #expect(try WALTest.records(segments[1]!) == [c])
        }
    }

    @Test func leadingRecordOfAFailedCallIsWrittenByTheNextCall() throws {
        let faults = FaultInjector()
        try TemporaryDirectory.with { dir in
            let wal = try Self.openWAL(dir, sys: faults.syscalls)
            faults.failWrite(1, .noSpace)
            var failed = false
            #expect(throws: TSDBError.self) {
                try wal.log([[2, 2]], leading: { [1, 1] }, onFailure: { failed = true })
            }
            #expect(failed)
            try wal.log([[2, 3]])
            try wal.log([[2, 4]], leading: { nil })
            try wal.close()
            let segments = try WALTest.segments(dir)
            let all = try segments.keys.sorted().flatMap { try WALTest.records(segments[$0]!) }
            #expect(all == [[1, 1], [2, 3], [2, 4]])
        }
    }
}
