import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Damaged segment files and bad references: every case is a `.corruption` error naming the
/// file and the offset of the damage, never a trap.
@Suite(.heavy) struct ChunkSegmentDamageTests {
    /// Five chunks of 10, 300, 1, 0 and 50 data bytes in one segment.
    static let sizes = [10, 300, 1, 0, 50]

    static func writeSample(_ dir: String) throws -> [ChunkRef] {
        try ChunkTest.writeSingly(dir, segmentSize: 1 << 20, sizes: sizes)
    }

    @Test func truncatedFileAtEveryLength() throws {
        try TemporaryDirectory.with { dir in
            let refs = try Self.writeSample(dir)
            let path = dir + "/000001"
            let full = try TestFiles.read(path)
            let ends = refs.dropFirst().map(\.offset) + [full.count]
            for length in 0..<full.count {
                try TestFiles.write(Array(full[..<length]), to: path)
                let opened = ChunkTest.caught { () throws(TSDBError) in try ChunkSegmentReader(directory: dir, sys: .system) }
                if length < 8 {
                    ChunkTest.expectCorruption(opened, file: path, offset: 0, "length \(length)")
                    continue
                }
                let reader = try ChunkSegmentReader(directory: dir, sys: .system)
                // The first chunk that does not fit whole is where iteration stops.
                let broken = ends.firstIndex { $0 > length }
                let iterated = ChunkTest.caught { () throws(TSDBError) in try ChunkTest.allChunks(reader) }
                if let broken, length > refs[broken].offset {
                    ChunkTest.expectCorruption(iterated, file: path, offset: refs[broken].offset, "length \(length)")
                } else {
                    #expect(iterated == nil, "length \(length) ends on a chunk boundary")
                }
                for (i, ref) in refs.enumerated() {
                    let read = ChunkTest.caught { () throws(TSDBError) in try reader.chunk(ref) }
                    if ends[i] <= length {
                        #expect(read == nil)
                    } else {
                        ChunkTest.expectCorruption(read, file: path, offset: ref.offset, "length \(length) chunk \(i)")
                    }
                }
            }
        }
    }

    @Test func flippedCRCOrDataByteFailsOnlyThatChunk() throws {
        try TemporaryDirectory.with { dir in
            let refs = try Self.writeSample(dir)
            let path = dir + "/000001"
            let full = try TestFiles.read(path)
            let ends = refs.dropFirst().map(\.offset) + [full.count]
            for (i, ref) in refs.enumerated() {
                // The last CRC byte, and the encoding byte (covered by the CRC too).
                let lengthField = Self.sizes[i] < 128 ? 1 : 2
                for position in [ends[i] - 1, ref.offset + lengthField] {
                    var damaged = full
                    damaged[position] ^= 0x40
                    try TestFiles.write(damaged, to: path)
                    let reader = try ChunkSegmentReader(directory: dir, sys: .system)
                    for (j, other) in refs.enumerated() {
                        let read = ChunkTest.caught { () throws(TSDBError) in try reader.chunk(other) }
                        if j == i {
                            ChunkTest.expectCorruption(read, file: path, offset: ref.offset)
                            #expect(read?.message.contains("CRC32C mismatch") == true, "\(String(describing: read))")
                        } else {
                            #expect(read == nil)
                        }
                    }
                    ChunkTest.expectCorruption(
                        ChunkTest.caught { () throws(TSDBError) in try ChunkTest.allChunks(reader) }, file: path, offset: ref.offset)
                }
            }
        }
    }

    @Test func badMagicVersionOrEmptyFile() throws {
        try TemporaryDirectory.with { dir in
            _ = try Self.writeSample(dir)
            let path = dir + "/000001"
            let full = try TestFiles.read(path)
            for (position, offset) in [(0, 0), (3, 0), (4, 4)] {
                var damaged = full
                damaged[position] ^= 0x01
                try TestFiles.write(damaged, to: path)
                ChunkTest.expectCorruption(
                    ChunkTest.caught { () throws(TSDBError) in try ChunkSegmentReader(directory: dir, sys: .system) }, file: path, offset: offset)
            }
            // Padding is not checked, as in Prometheus.
            var padded = full
            padded[6] = 0xFF
            try TestFiles.write(padded, to: path)
            _ = try ChunkSegmentReader(directory: dir, sys: .system)
            // A later empty segment is named too; files that are not numbers are ignored.
            try TestFiles.write(full, to: path)
            try TestFiles.write([], to: dir + "/000002")
            try TestFiles.write([1, 2, 3], to: dir + "/000002.tmp")
            ChunkTest.expectCorruption(
                ChunkTest.caught { () throws(TSDBError) in try ChunkSegmentReader(directory: dir, sys: .system) }, file: dir + "/000002", offset: 0)
        }
        let missing = ChunkTest.caught { () throws(TSDBError) in try ChunkSegmentReader(directory: "/nonexistent/chunks", sys: .system) }
        #expect(missing?.code == .notFound)
    }

    @Test func referencesOutOfRange() throws {
        try TemporaryDirectory.with { dir in
            let refs = try Self.writeSample(dir)
            let path = dir + "/000001"
            let size = try TestFiles.read(path).count
            let reader = try ChunkSegmentReader(directory: dir, sys: .system)
            let cases: [(ChunkRef, String, Int)] = [
                (ChunkRef(segment: 1, offset: 8), dir + "/000002", 8),
                (ChunkRef(rawValue: UInt64.max), dir + "/" + ChunkSegmentFormat.segmentName(Int(UInt32.max)), Int(UInt32.max)),
                (ChunkRef(segment: 0, offset: 0), path, 0),
                (ChunkRef(segment: 0, offset: 7), path, 7),
                (ChunkRef(segment: 0, offset: size), path, size),
                (ChunkRef(segment: 0, offset: size - 1), path, size - 1),
                (ChunkRef(segment: 0, offset: Int(UInt32.max)), path, Int(UInt32.max)),
                (ChunkRef(segment: 0, offset: refs[1].offset + 3), path, refs[1].offset + 3),
            ]
            for (ref, file, offset) in cases {
                ChunkTest.expectCorruption(ChunkTest.caught { () throws(TSDBError) in try reader.chunk(ref) }, file: file, offset: offset, "\(ref)")
            }
            let badSegment = ChunkTest.caught { () throws(TSDBError) in try reader.forEachChunk(inSegment: 1) { _, _, _ in } }
            #expect(badSegment?.code == .invalidArgument)
        }
    }

    /// Length fields Prometheus rejects: an unterminated or overflowing uvarint, one longer
    /// than 5 bytes, one that runs past the end of the file.
    @Test(arguments: [
        [UInt8](repeating: 0xFF, count: 11),
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x01, 0, 0, 0, 0],
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0, 0, 0, 0],
        [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0, 0, 0, 0],
        [0x05, 0x01, 0, 0, 0, 0],
        [0x00, 0x01, 0, 0],
    ])
    func malformedLengthField(tail: [UInt8]) throws {
        try TemporaryDirectory.with { dir in
            let path = dir + "/000001"
            try TestFiles.write([0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0] + tail, to: path)
            let reader = try ChunkSegmentReader(directory: dir, sys: .system)
            ChunkTest.expectCorruption(
                ChunkTest.caught { () throws(TSDBError) in try reader.chunk(ChunkRef(segment: 0, offset: 8)) }, file: path, offset: 8)
            ChunkTest.expectCorruption(
                ChunkTest.caught { () throws(TSDBError) in try ChunkTest.allChunks(reader) }, file: path, offset: 8)
        }
    }

    /// Random files, random damage to valid files and random references: errors only, and
    /// every error is corruption with a file and an offset.
    @Test func fuzzedSegmentsNeverTrap() throws {
        var rng = SeededRandom.fromEnvironment()
        try TemporaryDirectory.with { dir in
            let refs = try ChunkTest.writeSingly(dir, segmentSize: 1 << 20, sizes: (0..<40).map { _ in Int(rng.next() % 200) })
            let path = dir + "/000001"
            let valid = try TestFiles.read(path)
            var detected = 0
            for round in 0..<400 {
                var bytes: [UInt8]
                switch round % 4 {
                case 0:
                    bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    if rng.next() % 2 == 0 { bytes = [0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0] + bytes }
                case 1:
                    bytes = Array(valid[..<Int(rng.next() % UInt64(valid.count))])
                default:
                    bytes = valid
                    for _ in 0..<(1 + Int(rng.next() % 3)) {
                        bytes[8 + Int(rng.next() % UInt64(valid.count - 8))] ^= UInt8(1 + rng.next() % 255)
                    }
                }
                try TestFiles.write(bytes, to: path)
                let check = { (error: TSDBError?) in
                    guard let error else { return }
                    #expect(error.code == .corruption, "seed \(rng.seed) round \(round): \(error)")
                    #expect(error.location?.file != nil && error.location?.offset != nil, "seed \(rng.seed): \(error)")
                }
                let opened = ChunkTest.caught { () throws(TSDBError) in try ChunkSegmentReader(directory: dir, sys: .system) }
                check(opened)
                guard opened == nil else { continue }
                let reader = try ChunkSegmentReader(directory: dir, sys: .system)
                let iterated = ChunkTest.caught { () throws(TSDBError) in try ChunkTest.allChunks(reader) }
                check(iterated)
                if round % 4 >= 2 && iterated != nil { detected += 1 }
                for ref in refs + (0..<20).map({ _ in ChunkRef(rawValue: rng.next() % 2 == 0 ? rng.next() : rng.next() % 4096) }) {
                    check(ChunkTest.caught { () throws(TSDBError) in try reader.chunk(ref) })
                }
            }
            #expect(detected == 200, "every byte flip in the chunk area is detected (seed \(rng.seed))")
        }
    }

    @Test func mappingFailureIsAnIOError() throws {
        try TemporaryDirectory.with { dir in
            _ = try Self.writeSample(dir)
            var mapping = MappingCalls.system
            mapping.map = { _, _ in .failure(Errno(ENOMEM)) }
            let error = ChunkTest.caught { () throws(TSDBError) in try ChunkSegmentReader(directory: dir, sys: .system, mapping: mapping) }
            #expect(error?.code == .io)
            #expect((error?.cause as? Errno)?.code == ENOMEM)
        }
    }
}
