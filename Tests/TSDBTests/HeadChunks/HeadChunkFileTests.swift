import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The head chunk files (FORMAT.md §13): bytes written, read back, cut, and repaired.
@Suite(.heavy) struct HeadChunkFileTests {
    /// A chunk of `n` samples starting at `t0`, 15 s apart.
    static func chunk(_ n: Int, from t0: Int64 = 0, value: Double = 1) -> (data: [UInt8], minTime: Int64, maxTime: Int64) {
        var e = XOREncoder()
        for i in 0..<n { e.append(timestamp: t0 + Int64(i) * 15_000, value: value + Double(i)) }
        return (e.encoded(), t0, t0 + Int64(n - 1) * 15_000)
    }


    /// Scans a whole file, header included, into (series, minTime, maxTime, data) tuples.
    static func scan(_ path: String) throws -> (chunks: [(UInt64, Int64, Int64, [UInt8])], end: HeadChunkScanEnd) {
        let b = try TestFiles.read(path)
        var out: [(UInt64, Int64, Int64, [UInt8])] = []
        let end = try b.withUnsafeBytes { raw throws(TSDBError) in
            #expect(HeadChunkFormat.headerProblem(raw) == nil)
            return try HeadChunkFormat.scan(raw, file: 1) { c in out.append((c.seriesRef, c.minTime, c.maxTime, Array(c.data))) }
        }
        return (out, end)
    }

    @Test func fileNamesAndRefsAreprometheus() {
        #expect(HeadChunkFormat.fileName(1) == "000001")
        #expect(HeadChunkFormat.fileName(1_234_567) == "1234567")
        let ref = HeadChunkRef(file: 3, offset: 0x10)
        #expect(ref.rawValue == 0x0000_0003_0000_0010)
        #expect(ref.file == 3 && ref.offset == 16)
    }

    /// Every byte of a one-chunk file, with the CRC computed independently of the writer.
    @Test func writesPrometheusBytes() throws {
        try TemporaryDirectory.with { dir in
            let mapper = HeadChunkDiskMapper()
            try mapper.enable(directory: dir, sys: .system, files: [])
            let c = Self.chunk(3, from: 1_000)
            let ref = try #require(mapper.write(seriesRef: 0x0102, minTime: c.minTime, maxTime: c.maxTime, data: c.data))
            #expect(ref == HeadChunkRef(file: 1, offset: 8))
            try mapper.close()
            let b = try TestFiles.read(dir + "/000001")
            var expected: [UInt8] = [0x01, 0x30, 0xBC, 0x91, 0x01, 0, 0, 0]
            expected += [0, 0, 0, 0, 0, 0, 0x01, 0x02]
            expected += [0, 0, 0, 0, 0, 0, 0x03, 0xe8]
            expected += [0, 0, 0, 0, 0, 0, 0x79, 0x18]  // 1000 + 2·15000 = 31000
            expected += [0x01, UInt8(c.data.count)] + c.data
            let crc = CRC32C.checksumPortable(Array(expected[8...]))
            expected += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)]
            #expect(b == expected)
        }
    }

    @Test func roundTripsAndCutsFilesAtTheSizeLimit() throws {
        try TemporaryDirectory.with { dir in
            let mapper = HeadChunkDiskMapper()
            try mapper.enable(directory: dir, sys: .system, files: [], maxFileSize: 4_096)
            var written: [(UInt64, Int64, Int64, [UInt8])] = []
            for i in 0..<100 {
                let c = Self.chunk(1 + i % 120, from: Int64(i) * 10_000_000)
                let ref = try #require(mapper.write(seriesRef: UInt64(i % 7 + 1), minTime: c.minTime, maxTime: c.maxTime, data: c.data))
                #expect(ref.offset + HeadChunkFormat.recordSize(dataCount: c.data.count) <= 4_096 || ref.offset == 8)
                written.append((UInt64(i % 7 + 1), c.minTime, c.maxTime, c.data))
            }
            try mapper.close()
            let seqs = try HeadChunkFormat.fileSequences(in: dir, sys: .system)
            #expect(seqs.count >= 3)
            #expect(seqs == Array(1...seqs.count))
            var read: [(UInt64, Int64, Int64, [UInt8])] = []
            for s in seqs {
                let (chunks, end) = try Self.scan(dir + "/" + HeadChunkFormat.fileName(s))
                #expect(end == .clean)
                read += chunks
            }
            #expect(read.count == written.count)
            for (a, b) in zip(read, written) { #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3) }

            // Loading gives each series its chunks in order, and the files' newest times.
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.notes.isEmpty)
            #expect(loaded.chunks == 100)
            #expect(loaded.files.map(\.seq) == seqs)
            #expect(loaded.bySeries[1]?.map(\.minTime) == written.filter { $0.0 == 1 }.map(\.1))
            // Chunks ending below the minimum valid time are not loaded.
            let later = try HeadChunkLoader.load(directory: dir, minValidTime: 500_000_000, sys: .system)
            #expect(later.chunks == written.filter { $0.2 >= 500_000_000 }.count)
        }
    }

    /// Prometheus leaves the rest of a preallocated file zero: that is a clean end.
    @Test func zeroTailIsACleanEnd() throws {
        var b = HeadChunkFormat.header
        let c = Self.chunk(5)
        HeadChunkFormat.appendChunk(seriesRef: 9, minTime: c.minTime, maxTime: c.maxTime, encoding: 1, data: c.data, to: &b)
        b += [UInt8](repeating: 0, count: 4_000)
        var n = 0
        let end = try b.withUnsafeBytes { raw throws(TSDBError) in try HeadChunkFormat.scan(raw, file: 1) { _ in n += 1 } }
        #expect(end == .clean && n == 1)
    }

    /// Writes `files` files of 20 chunks each (series 1…4), the chunk of a series never
    /// overlapping its previous one.
    static func writeFiles(_ dir: String, files: Int) throws {
        let mapper = HeadChunkDiskMapper()
        try mapper.enable(directory: dir, sys: .system, files: [])
        for f in 0..<files {
            for i in 0..<20 {
                let k = f * 20 + i
                let c = chunk(120, from: Int64(k / 4) * 3_600_000)
                mapper.write(seriesRef: UInt64(k % 4 + 1), minTime: c.minTime, maxTime: c.maxTime, data: c.data)
            }
            _ = mapper.truncate(before: .min)  // finishes the file: the next chunk starts a new one
        }
        try mapper.close()
    }

    @Test(arguments: [9, 17, 40, 300])
    func tornTailOfTheLastFileIsCut(keepingBytesOfLastChunk cut: Int) throws {
        try TemporaryDirectory.with { dir in
            try Self.writeFiles(dir, files: 2)
            let path = dir + "/000002"
            let size = try TestFiles.read(path).count
            let (chunks, _) = try Self.scan(path)
            let lastSize = HeadChunkFormat.recordSize(dataCount: chunks.last!.3.count)
            let keep = size - lastSize + min(cut, lastSize - 1)
            try FileHandle(forWritingTo: URL(fileURLWithPath: path)).truncate(atOffset: UInt64(keep))
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == 39)
            #expect(loaded.notes.count == 1 && loaded.notes[0].contains(path) && loaded.notes[0].contains("offset \(size - lastSize)"), "\(loaded.notes)")
            #expect(try TestFiles.read(path).count == size - lastSize)
            // Reading again finds a clean file.
            #expect(try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system).notes.isEmpty)
        }
    }

    @Test func flippedBitInTheLastFileCutsFromThatChunk() throws {
        try TemporaryDirectory.with { dir in
            try Self.writeFiles(dir, files: 2)
            let path = dir + "/000002"
            var b = try TestFiles.read(path)
            b[b.count - 100] ^= 0x10
            try Data(b).write(to: URL(fileURLWithPath: path))
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == 39)
            #expect(loaded.notes.first?.contains("checksum mismatch") == true, "\(loaded.notes)")
        }
    }

    /// Enough chunks that the loader checks them on several threads: a bad checksum in any
    /// part ends the file at that chunk, as a scan in one pass would, and the chunks before
    /// it are loaded whole and grouped by series in file order.
    @Test(arguments: [0.3, 0.9])
    func badChecksumAmongManyChunksCutsFromThatChunk(at fraction: Double) throws {
        try TemporaryDirectory.with { dir in
            let mapper = HeadChunkDiskMapper()
            try mapper.enable(directory: dir, sys: .system, files: [])
            var refs: [HeadChunkRef] = []
            let count = 20_000
            for i in 0..<count {
                let c = Self.chunk(2, from: Int64(i / 50) * 100_000, value: Double(i))
                refs.append(try #require(mapper.write(seriesRef: UInt64(i % 50 + 1), minTime: c.minTime, maxTime: c.maxTime, data: c.data)))
            }
            try mapper.close()
            let bad = Int(Double(count) * fraction)
            let path = dir + "/000001"
            var b = try TestFiles.read(path)
            b[refs[bad].offset + HeadChunkFormat.fixedMetaSize + 3] ^= 0x01
            try Data(b).write(to: URL(fileURLWithPath: path))

            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == bad)
            #expect(loaded.notes.first?.contains("checksum mismatch in the chunk at offset \(refs[bad].offset)") == true, "\(loaded.notes)")
            for ref in 1...50 {
                let chunks = loaded.bySeries[UInt64(ref)] ?? []
                #expect(chunks.count == (bad - ref + 50) / 50)
                #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.maxTime < $1.minTime })
                let firstValues = chunks.map { c -> Double? in
                    var it = c.chunk.makeIterator()
                    return it.next()?.value
                }
                #expect(firstValues == (0..<chunks.count).map { Double($0 * 50 + ref - 1) })
            }
            #expect(try TestFiles.read(path).count == refs[bad].offset)
        }
    }

    /// Damage anywhere but the last file's tail: every file goes, the WAL supplies all.
    @Test func damageInAnEarlierFileDeletesAllFiles() throws {
        try TemporaryDirectory.with { dir in
            try Self.writeFiles(dir, files: 3)
            let path = dir + "/000001"
            var b = try TestFiles.read(path)
            b[200] ^= 0x01
            try Data(b).write(to: URL(fileURLWithPath: path))
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == 0 && loaded.bySeries.isEmpty && loaded.files.isEmpty)
            #expect(loaded.notes.count == 1 && loaded.notes[0].contains(path) && loaded.notes[0].contains("deleted all 3"), "\(loaded.notes)")
            #expect(try HeadChunkFormat.fileSequences(in: dir, sys: .system).isEmpty)
        }
    }

    @Test func badMagicGapAndOutOfOrderChunksDeleteAllFiles() throws {
        // A bad magic number in the first file.
        try TemporaryDirectory.with { dir in
            try Self.writeFiles(dir, files: 2)
            var b = try TestFiles.read(dir + "/000001")
            b[0] = 0x7f
            try Data(b).write(to: URL(fileURLWithPath: dir + "/000001"))
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == 0 && loaded.notes.first?.contains("magic") == true, "\(loaded.notes)")
        }
        // A missing file in the middle.
        try TemporaryDirectory.with { dir in
            try Self.writeFiles(dir, files: 3)
            try FileManager.default.removeItem(atPath: dir + "/000002")
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == 0 && loaded.notes.first?.contains("not consecutive") == true, "\(loaded.notes)")
            #expect(try HeadChunkFormat.fileSequences(in: dir, sys: .system).isEmpty)
        }
        // A series' chunk that starts before its previous one ends.
        try TemporaryDirectory.with { dir in
            let mapper = HeadChunkDiskMapper()
            try mapper.enable(directory: dir, sys: .system, files: [])
            let c = Self.chunk(10)
            mapper.write(seriesRef: 1, minTime: c.minTime, maxTime: c.maxTime, data: c.data)
            mapper.write(seriesRef: 1, minTime: c.minTime, maxTime: c.maxTime, data: c.data)
            try mapper.close()
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == 0 && loaded.notes.first?.contains("not after its previous chunk") == true, "\(loaded.notes)")
        }
    }

    @Test func lastFileWithoutAHeaderIsDeleted() throws {
        try TemporaryDirectory.with { dir in
            try Self.writeFiles(dir, files: 1)
            FileManager.default.createFile(atPath: dir + "/000002", contents: Data([0x01, 0x30]))
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == 20)
            #expect(loaded.files.map(\.seq) == [1])
            #expect(loaded.notes.first?.contains("000002") == true)
            #expect(try HeadChunkFormat.fileSequences(in: dir, sys: .system) == [1])
        }
    }

    /// Truncation finishes the open file and deletes the oldest files that end before the
    /// new minimum, never leaving a gap; new chunks go into a new file.
    @Test func truncateDeletesOldFilesOnly() throws {
        try TemporaryDirectory.with { dir in
            let mapper = HeadChunkDiskMapper()
            try mapper.enable(directory: dir, sys: .system, files: [])
            for (i, maxT) in [1_000, 5_000, 2_000, 9_000].enumerated() {
                let c = Self.chunk(1, from: Int64(maxT))
                mapper.write(seriesRef: UInt64(i + 1), minTime: c.minTime, maxTime: c.maxTime, data: c.data)
                _ = mapper.truncate(before: .min)
            }
            #expect(mapper.files.map(\.seq) == [1, 2, 3, 4])
            let deleted = mapper.truncate(before: 3_000)
            // File 3 ends before 3000 too, but file 2 does not: only a prefix goes.
            #expect(deleted == [dir + "/000001"])
            #expect(try HeadChunkFormat.fileSequences(in: dir, sys: .system) == [2, 3, 4])
            #expect(mapper.truncate(before: 6_000) == [dir + "/000002", dir + "/000003"])
            let c = Self.chunk(1, from: 10_000)
            let ref = mapper.write(seriesRef: 1, minTime: c.minTime, maxTime: c.maxTime, data: c.data)
            #expect(ref?.file == 5)
            #expect(mapper.truncate(before: 20_000).count == 2)
            try mapper.close()
            #expect(try HeadChunkFormat.fileSequences(in: dir, sys: .system).isEmpty)
        }
    }

    /// A failed write stops writing (the WAL still has every sample) and leaves files that
    /// load up to the failure.
    @Test func aFailedWriteDisablesWriting() throws {
        try TemporaryDirectory.with { dir in
            var sys = Syscalls.system
            let calls = Locked(0)
            let real = sys.write
            sys.write = { fd, bytes in
                calls.withLock { $0 += 1 }
                return calls.withLock { $0 } >= 2 ? -Int(ENOSPC) : real(fd, bytes)
            }
            let mapper = HeadChunkDiskMapper()
            try mapper.enable(directory: dir, sys: sys, files: [])
            let c = Self.chunk(100)
            mapper.write(seriesRef: 1, minTime: c.minTime, maxTime: c.maxTime, data: c.data)
            _ = mapper.truncate(before: .min)  // first write(2) succeeds
            #expect(mapper.write(seriesRef: 2, minTime: c.minTime, maxTime: c.maxTime, data: c.data) != nil)
            _ = mapper.truncate(before: .min)  // second fails
            #expect(mapper.failure?.code == .io)
            #expect(mapper.write(seriesRef: 3, minTime: c.minTime, maxTime: c.maxTime, data: c.data) == nil)
            try mapper.close()
            let loaded = try HeadChunkLoader.load(directory: dir, minValidTime: .min, sys: .system)
            #expect(loaded.chunks == 1)
        }
    }
}
