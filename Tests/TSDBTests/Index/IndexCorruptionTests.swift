import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Damaged index bytes: every failure is a `.corruption` error naming the file and an offset
/// inside it, and nothing traps.
@Suite(.heavy) struct IndexCorruptionTests {
    /// Everything a reader can be asked, so that damage anywhere is met.
    struct Answers: Equatable {
        var contents: IndexContents
        var names: [String]
        var values: [[String]]
        var postings: [[UInt64]]

        init(_ reader: IndexReader) throws(TSDBError) {
            do { contents = try IndexContents(reading: reader) } catch let e as TSDBError { throw e } catch {
                throw TSDBError(.io, "unexpected \(error)")
            }
            names = reader.labelNames()
            values = []
            postings = []
            for name in names {
                let vs = try reader.labelValues(name)
                values.append(vs)
                for v in vs { postings.append(try reader.postings(name, v)) }
            }
        }
    }

    static let file = "damaged/index"

    /// A small random index and what it reads as.
    static func original(_ rng: inout SeededRandom, series: Int = 40) throws -> ([UInt8], Answers) {
        let contents = try RandomIndex.contents(&rng, seriesCount: series)
        return try TemporaryDirectory.with { dir in
            try contents.write(to: dir + "/index")
            let bytes = try TestFiles.read(dir + "/index")
            return (bytes, try Answers(IndexReader(bytes: bytes, file: file)))
        }
    }

    static func expectCorruption(_ error: TSDBError, size: Int, _ comment: Comment) {
        #expect(error.code == .corruption, comment)
        #expect(error.location?.file == file, comment)
        if let offset = error.location?.offset {
            #expect(offset >= 0 && offset <= size, comment)
        } else {
            Issue.record("no offset in \(error): \(comment)")
        }
    }

    @Test func truncationAtEveryLengthIsCorruption() throws {
        var rng = SeededRandom.fromEnvironment()
        let (bytes, _) = try Self.original(&rng)
        for length in 0..<bytes.count {
            do {
                let reader = try IndexReader(bytes: Array(bytes[..<length]), file: Self.file)
                _ = try Answers(reader)
                Issue.record("truncated to \(length) of \(bytes.count) bytes and still read, seed \(rng.seed)")
            } catch {
                Self.expectCorruption(error, size: length, "length \(length), seed \(rng.seed)")
            }
        }
    }

    /// Flipping any byte either is caught as corruption or lands where the reader never looks
    /// (padding, the legacy label indices), and then every answer is unchanged.
    /// Each byte is flipped whole (`mask` 0xff) or in one random bit (`mask` 0).
    @Test(arguments: [UInt8(0xff), 0])
    func flippedBytesAreCaughtOrHarmless(mask: UInt8) throws {
        var rng = SeededRandom.fromEnvironment()
        let (bytes, answers) = try Self.original(&rng, series: 12)
        var caught = 0
        for i in 0..<bytes.count {
            var damaged = bytes
            damaged[i] ^= mask != 0 ? mask : 1 << (rng.next() % 8)
            do {
                let read = try Answers(IndexReader(bytes: damaged, file: Self.file))
                #expect(read == answers, "flip at \(i) changed the answers, seed \(rng.seed)")
            } catch {
                if i == 4 && error.code == .unsupported { continue }  // version byte 2 → 1 or 3
                Self.expectCorruption(error, size: bytes.count, "flip \(mask) at \(i), seed \(rng.seed)")
                caught += 1
            }
        }
        #expect(caught > bytes.count / 2)
    }

    @Test func randomGarbageNeverTraps() throws {
        var rng = SeededRandom.fromEnvironment()
        let (bytes, _) = try Self.original(&rng, series: 8)
        for _ in 0..<2000 {
            var damaged = bytes
            for _ in 0..<(1 + rng.next() % 8) {
                damaged[Int(rng.next() % UInt64(damaged.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 4 == 0 { damaged = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            do {
                _ = try Answers(IndexReader(bytes: damaged, file: Self.file))
            } catch {
                #expect(error.code == .corruption || error.code == .unsupported, "seed \(rng.seed)")
            }
        }
    }

    /// Bytes with valid CRCs that still break the format's rules.
    @Test func checksummedButInvalidEntriesAreCorruption() throws {
        let labels = try Labels(["__name__": "up", "job": "a"])
        let contents = IndexContents(symbols: ["", "__name__", "a", "job", "up"],
                                     series: [.init(labels: labels, chunks: [])])
        let bytes = try TemporaryDirectory.with { dir in
            try contents.write(to: dir + "/index")
            return try TestFiles.read(dir + "/index")
        }
        let reader = try IndexReader(bytes: bytes, file: Self.file)
        let ref = try #require(try reader.allPostings().first)
        let at = Int(ref) * 16
        // Series entry: len 6 │ 2 labels │ 1 4 │ 3 2 │ 0 chunks │ CRC.
        #expect(Array(bytes[at..<(at + 7)]) == [6, 2, 1, 4, 3, 2, 0])

        func patched(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = bytes
            edit(&b)
            let crc = CRC32C.checksum(Array(b[(at + 1)..<(at + 7)]))
            for k in 0..<4 { b[at + 7 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
            return b
        }
        let cases: [(String, [UInt8])] = [
            ("symbol out of range", patched { $0[at + 2] = 0x7f }),
            ("names not sorted", patched { $0[at + 4] = 1 }),
            ("empty name", patched { $0[at + 2] = 0 }),
            ("label count beyond the entry", patched { $0[at + 1] = 9 }),
            ("chunk count beyond the entry", patched { $0[at + 6] = 5 }),
        ]
        for (what, damaged) in cases {
            do {
                _ = try IndexReader(bytes: damaged, file: Self.file).series(ref)
                Issue.record("\(what): read without error")
            } catch {
                Self.expectCorruption(error, size: bytes.count, "\(what)")
            }
        }
        // Series references outside the file or past its end.
        for bad in [UInt64.max, UInt64.max / 16, UInt64(bytes.count / 16 + 1), 0] {
            #expect(throws: TSDBError.self) { try reader.series(bad) }
        }
    }
}
