import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The writer and reader of block chunk segments (FORMAT.md, "Block chunk segments"):
/// round trips, the byte layout and Prometheus's segment cut rule.
@Suite(.heavy) struct ChunkSegmentWriterTests {
    @Test func randomXORChunksRoundTripAcrossSegments() throws {
        var rng = SeededRandom.fromEnvironment()
        try TemporaryDirectory.with { dir in
            var written: [(ref: ChunkRef, samples: [Sample], bytes: [UInt8])] = []
            var writer = try ChunkSegmentWriter(directory: dir, sys: .system, segmentSize: 16 * 1024)
            for _ in 0..<600 {
                let samples = ChunkTest.randomSamples(&rng)
                let bytes = XORChunk(encoding: samples).bytes
                written.append((try writer.write(encoding: .xor, data: bytes), samples, bytes))
            }
            try writer.close()

            let reader = try ChunkSegmentReader(directory: dir, sys: .system)
            #expect(reader.segmentCount > 3, "seed \(rng.seed)")
            let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            #expect(names == (0..<reader.segmentCount).map(ChunkSegmentFormat.segmentName))
            #expect(names.first == "000001")
            for w in written.shuffled(using: &rng) {
                let chunk = try reader.chunk(w.ref)
                #expect(chunk.encoding == .xor)
                #expect(chunk.data == w.bytes, "seed \(rng.seed) ref \(w.ref)")
                #expect(try XORChunk(bytes: chunk.data).decodeAll() == w.samples, "seed \(rng.seed)")
            }
            // Iteration yields the same chunks, refs and order.
            let all = try ChunkTest.allChunks(reader)
            #expect(all.map(\.ref) == written.map(\.ref))
            #expect(all.map(\.data) == written.map(\.bytes))
            #expect(written.map(\.ref) == written.map(\.ref).sorted(), "refs grow")
            // Every segment stays within the size; none is empty.
            for s in 0..<reader.segmentCount {
                #expect(reader.segmentSize(s) <= 16 * 1024)
                #expect(reader.segmentSize(s) > ChunkSegmentFormat.headerSize)
            }
        }
    }

    @Test func byteLayoutOfHeaderAndChunk() throws {
        try TemporaryDirectory.with { dir in
            let first = ChunkTest.opaque(200)
            let second = XORChunk(encoding: [Sample(timestamp: 1000, value: 1.5)]).bytes
            var writer = try ChunkSegmentWriter(directory: dir, sys: .system)
            let r1 = try writer.write(encoding: .xor, data: first)
            let r2 = try writer.write(encoding: ChunkEncoding(rawValue: 7), data: second)
            try writer.close()

            #expect(r1 == ChunkRef(segment: 0, offset: 8))
            #expect(r1.rawValue == 8)
            // 2-byte uvarint (200 = C8 01), encoding, 200 data bytes, 4 CRC bytes.
            #expect(r2 == ChunkRef(segment: 0, offset: 8 + 2 + 1 + 200 + 4))

            let bytes = try TestFiles.read(dir + "/000001")
            #expect(bytes[0..<8] == [0x85, 0xBD, 0x40, 0xDD, 0x01, 0x00, 0x00, 0x00])
            #expect(bytes[8..<11] == [0xC8, 0x01, 0x01])
            #expect(Array(bytes[11..<211]) == first)
            let crc = CRC32C.checksum([1] + first)
            #expect(bytes[211..<215] == [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
            #expect(bytes[215] == UInt8(second.count))
            #expect(bytes[216] == 7)
            #expect(bytes.count == 215 + 1 + 1 + second.count + 4, "no padding, no preallocated tail")

            let reader = try ChunkSegmentReader(directory: dir, sys: .system)
            let back = try reader.chunk(r2)
            #expect(back.encoding.rawValue == 7, "unknown encodings pass through")
            #expect(back.data == second)
        }
    }

    @Test func refPacksSegmentAndOffset() {
        let ref = ChunkRef(segment: 3, offset: 0xFFFF_FFFF)
        #expect(ref.rawValue == 0x0000_0003_FFFF_FFFF)
        #expect(ref.segment == 3 && ref.offset == 0xFFFF_FFFF)
        #expect(ChunkRef(rawValue: 0xFFFF_FFFF_0000_0008).segment == 0xFFFF_FFFF)
        #expect(ChunkSegmentFormat.segmentName(0) == "000001")
        #expect(ChunkSegmentFormat.segmentName(999_999) == "1000000")
        #expect(ChunkSegmentFormat.isSegmentName("000001"))
        #expect(!ChunkSegmentFormat.isSegmentName("000001.tmp"))
        #expect(!ChunkSegmentFormat.isSegmentName("+1"))
        #expect(!ChunkSegmentFormat.isSegmentName("99999999999999999999"), "overflows UInt64")
    }

    /// Single writes: a chunk of 10 data bytes takes 16 bytes but is budgeted at 20 (a 5-byte
    /// length). With 78-byte segments: 8 + 4·16 = 72, and 72 + 20 > 78 cuts before the 5th.
    @Test func singleWritesCutWhenTheBudgetPassesTheSegmentSize() throws {
        try TemporaryDirectory.with { dir in
            let refs = try ChunkTest.writeSingly(dir, segmentSize: 78, sizes: Array(repeating: 10, count: 10))
            #expect(refs.map(\.segment) == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
            #expect(refs.map(\.offset) == [8, 24, 40, 56, 8, 24, 40, 56, 8, 24])
            #expect(FileSystem.size(dir + "/000001", sys: .system) == 72)
            #expect(FileSystem.size(dir + "/000003", sys: .system) == 40)
        }
    }

    /// One series' chunks in one call: Prometheus sums the budgets of the batch, so
    /// 8 + 4·20 > 78 cuts before the 4th chunk of each segment.
    @Test func seriesWritesCutAsPrometheusWriteChunks() throws {
        try TemporaryDirectory.with { dir in
            var writer = try ChunkSegmentWriter(directory: dir, sys: .system, segmentSize: 78)
            let chunks = (0..<10).map { (encoding: ChunkEncoding.xor, data: ChunkTest.opaque(10, seed: UInt8($0))) }
            let refs = try writer.write(seriesChunks: chunks)
            try writer.close()
            #expect(refs.map(\.segment) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3])
            let back = try ChunkTest.allChunks(try ChunkSegmentReader(directory: dir, sys: .system))
            #expect(back.map(\.ref) == refs)
            #expect(back.map(\.data) == chunks.map(\.data))
        }
    }

    /// A segment that already holds data: the first batch counts the real size so far, later
    /// batches start from the header (chunks.go v2.42.0 lines 381–390).
    @Test func seriesWriteIntoAPartlyFilledSegment() throws {
        try TemporaryDirectory.with { dir in
            var writer = try ChunkSegmentWriter(directory: dir, sys: .system, segmentSize: 78)
            let r0 = try writer.write(encoding: .xor, data: ChunkTest.opaque(10))
            // Segment at 24 bytes: 24+20, 24+40 fit; 24+60 = 84 > 78 cuts; then 8+20·3 = 68 fits.
            let refs = try writer.write(seriesChunks: (0..<5).map { (.xor, ChunkTest.opaque(10, seed: UInt8($0))) })
            // An empty call writes nothing and cuts nothing.
            let none = try writer.write(seriesChunks: [])
            #expect(none.isEmpty)
            try writer.close()
            #expect(r0 == ChunkRef(segment: 0, offset: 8))
            #expect(refs.map(\.segment) == [0, 0, 1, 1, 1])
            #expect(try ChunkSegmentReader(directory: dir, sys: .system).segmentCount == 2)
        }
    }

    /// Prometheus writes a chunk larger than the segment size anyway, alone in its segment:
    /// never into an empty first segment of a call, and the next chunk cuts again.
    @Test(arguments: [false, true])
    func oversizedChunkGetsASegmentOfItsOwn(asSeries: Bool) throws {
        try TemporaryDirectory.with { dir in
            let sizes = [10, 100, 10]
            var refs: [ChunkRef]
            if asSeries {
                var writer = try ChunkSegmentWriter(directory: dir, sys: .system, segmentSize: 64)
                refs = try writer.write(seriesChunks: sizes.map { (.xor, ChunkTest.opaque($0)) })
                try writer.close()
            } else {
                refs = try ChunkTest.writeSingly(dir, segmentSize: 64, sizes: sizes)
            }
            #expect(refs == [ChunkRef(segment: 0, offset: 8), ChunkRef(segment: 1, offset: 8), ChunkRef(segment: 2, offset: 8)])
            let size = FileSystem.size(dir + "/000002", sys: .system)
            #expect(size == 114, "header, 1-byte length, encoding, 100 bytes, CRC")
            let reader = try ChunkSegmentReader(directory: dir, sys: .system)
            #expect(try reader.chunk(refs[1]).data.count == 100)
        }
    }

    @Test func closingWithoutChunksWritesNoSegment() throws {
        try TemporaryDirectory.with { dir in
            let chunks = dir + "/block/chunks"
            let writer = try ChunkSegmentWriter(directory: chunks, sys: .system)
            try writer.close()
            #expect(try FileManager.default.contentsOfDirectory(atPath: chunks).isEmpty)
            #expect(try ChunkSegmentReader(directory: chunks, sys: .system).segmentCount == 0)
        }
    }

    @Test func refusesADirectoryThatHoldsSegmentsOrABadSize() throws {
        try TemporaryDirectory.with { dir in
            _ = try ChunkTest.writeSingly(dir, segmentSize: 1024, sizes: [5])
            let error = ChunkTest.caught { () throws(TSDBError) in _ = try ChunkSegmentWriter(directory: dir, sys: .system) }
            #expect(error?.code == .invalidArgument)
            for size in [0, -1, Int(UInt32.max) + 1] {
                let bad = ChunkTest.caught { () throws(TSDBError) in _ = try ChunkSegmentWriter(directory: dir + "/x", sys: .system, segmentSize: size) }
                #expect(bad?.code == .invalidArgument)
            }
        }
    }

    /// One fsync per finished segment plus one for the directory; writes are batched.
    @Test func fsyncsEachSegmentAndTheDirectory() throws {
        let probe = ChunkSyscallProbe()
        try TemporaryDirectory.with { dir in
            var writer = try ChunkSegmentWriter(directory: dir, sys: probe.syscalls, segmentSize: 78)
            for _ in 0..<10 { _ = try writer.write(encoding: .xor, data: ChunkTest.opaque(10)) }
            try writer.close()
            #expect(probe.fsyncs == 3 + 1)
            #expect(probe.writes == 3, "one write(2) per segment here, the buffer never fills")
        }
    }

    @Test func aFailedWriteIsReportedAndTheWriterRefusesMore() throws {
        let probe = ChunkSyscallProbe()
        try TemporaryDirectory.with { dir in
            var writer = try ChunkSegmentWriter(directory: dir, sys: probe.syscalls)
            _ = try writer.write(encoding: .xor, data: ChunkTest.opaque(10))
            probe.failWrites(with: ENOSPC)
            // A chunk that fills the buffer forces a write(2) now.
            let big = [UInt8](repeating: 0xAB, count: ChunkSegmentWriter.bufferSize)
            let error = ChunkTest.caught { () throws(TSDBError) in try writer.write(encoding: .xor, data: big) }
            #expect(error?.code == .io)
            #expect((error?.cause as? Errno)?.code == ENOSPC)
            probe.failWrites(with: nil)
            let again = ChunkTest.caught { () throws(TSDBError) in try writer.write(encoding: .xor, data: [1]) }
            #expect(again?.code == .invalidArgument)
        }
    }

    @Test func closeReportsAFailedFlush() throws {
        let probe = ChunkSyscallProbe()
        try TemporaryDirectory.with { dir in
            var writer = try ChunkSegmentWriter(directory: dir, sys: probe.syscalls)
            _ = try writer.write(encoding: .xor, data: ChunkTest.opaque(10))
            probe.failWrites(with: EIO)
            do throws(TSDBError) {
                try writer.close()
                Issue.record("close succeeded although write(2) failed")
            } catch {
                #expect(error.code == .io)
                #expect(error.location?.file == dir + "/000001")
            }
        }
    }
}
