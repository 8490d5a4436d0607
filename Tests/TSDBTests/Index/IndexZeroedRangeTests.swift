import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Issue 11: a block's index with about 3 KB zeroed in the middle trapped in
/// `IndexReader.init` ("Range requires lowerBound <= upperBound"). A zeroed section reads as
/// length 0 with CRC32C 0, which is the CRC of no bytes, so it passed the section check and
/// the reader then formed the range of the entries after a 4-byte count that is not there.
@Suite(.heavy) struct IndexZeroedRangeTests {
    static func original(series: Int) throws -> [UInt8] {
        var rng = SeededRandom(seed: 11)
        let contents = try RandomIndex.contents(&rng, seriesCount: series)
        return try TemporaryDirectory.with { dir in
            try contents.write(to: dir + "/index")
            return try TestFiles.read(dir + "/index")
        }
    }

    static func read(_ bytes: [UInt8]) throws(TSDBError) {
        _ = try IndexCorruptionTests.Answers(IndexReader(bytes: bytes, file: IndexCorruptionTests.file))
    }

    /// The postings offset table zeroed from its start: corruption at that offset.
    @Test func zeroedPostingsOffsetTableIsCorruption() throws {
        var bytes = try Self.original(series: 200)
        let toc = try IndexTOC(decoding: bytes, file: nil)
        let at = Int(toc.postingsTable)
        let end = Swift.min(bytes.count - IndexFormat.tocLength, at + 3_072)
        for i in at..<end { bytes[i] = 0 }
        do {
            try Self.read(bytes)
            Issue.record("read without error")
        } catch {
            #expect(error.code == .corruption)
            #expect(error.location?.file == IndexCorruptionTests.file)
            #expect(error.location?.offset == at)
        }
    }

    /// The symbol table zeroed: corruption too (it never trapped, but is the same damage).
    @Test func zeroedSymbolTableIsCorruption() throws {
        var bytes = try Self.original(series: 200)
        let toc = try IndexTOC(decoding: bytes, file: nil)
        let at = Int(toc.symbols)
        for i in at..<Swift.min(at + 3_072, Int(toc.series)) { bytes[i] = 0 }
        #expect(throws: TSDBError.self) { try Self.read(bytes) }
    }

    /// 3 KB zeroed at every 256-byte step, TOC included: an error or the same answers, never a trap.
    @Test func zeroed3KBAnywhereNeverTraps() throws {
        let bytes = try Self.original(series: 300)
        var caught = 0
        for start in stride(from: 0, to: bytes.count, by: 256) {
            var damaged = bytes
            for i in start..<Swift.min(start + 3_072, damaged.count) { damaged[i] = 0 }
            do { try Self.read(damaged) } catch {
                IndexCorruptionTests.expectCorruption(error, size: bytes.count, "3 KB zeroed at \(start)")
                caught += 1
            }
        }
        #expect(caught > 0)
    }
}
