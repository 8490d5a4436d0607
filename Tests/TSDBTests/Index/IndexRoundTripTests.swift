import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct IndexRoundTripTests {
    @Test(arguments: [0, 1, 2, 31, 32, 33, 300, 2000])
    func randomIndexReadsBackWhatWasWritten(seriesCount: Int) throws {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<3 {
            let contents = try RandomIndex.contents(&rng, seriesCount: seriesCount)
            try TemporaryDirectory.with { dir in
                let path = dir + "/index"
                try contents.write(to: path)
                let reader = try IndexReader.open(path: path, sys: .system)
                let read = try IndexContents(reading: reader)
                #expect(read == contents, "seed \(rng.seed)")
                #expect(reader.symbolTableCount == contents.symbols.count)
                for (i, symbol) in contents.symbols.enumerated() where i % 7 == 0 || i == contents.symbols.count - 1 {
                    #expect(try reader.symbol(UInt64(i)) == symbol)
                }
                try IndexContents.verifyAnswers(of: reader)
                // Writing what was read gives the same bytes.
                try read.write(to: dir + "/again")
                #expect(try TestFiles.read(dir + "/again") == TestFiles.read(path))
            }
        }
    }

    /// `up{job="a"}` with samples at 1 s and 2 s, as `promtool tsdb create-blocks-from
    /// openmetrics` 2.42 wrote its index (272 bytes; FORMAT.md's worked example).
    static let promtoolOneSeries = """
        baaad70002000000170000000500085f5f6e616d655f5f0161036a6f620275703c59a292000000000000000000000000
        0b020104030201d00fe807082c4385310000000c00000001000000010000000420d59ba60000000c0000000100000001
        0000000206747c4e000000080000000100000003a7692ed2000000080000000100000003a7692ed20000000800000001
        00000003a7692ed2000000150000000201085f5f6e616d655f5f4001036a6f625485b434500000001f00000003020000
        6802085f5f6e616d655f5f0275707802036a6f6201618801978f96ec0000000000000005000000000000002400000000
        000000400000000000000098000000000000006800000000000000b5bfaf16d7
        """

    @Test func oneSeriesIndexMatchesPromtoolsBytes() throws {
        let hex = Self.promtoolOneSeries.filter { !$0.isWhitespace }
        let expected = stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16) ?? 0
        }
        #expect(expected.count == 272)
        let labels = try Labels(["__name__": "up", "job": "a"])
        let contents = IndexContents(symbols: IndexWriter.symbols(of: [labels]),
                                     series: [.init(labels: labels, chunks: [.init(ref: 8, minTime: 1000, maxTime: 2000)])])
        try TemporaryDirectory.with { dir in
            try contents.write(to: dir + "/index")
            #expect(try TestFiles.read(dir + "/index") == expected)
        }
        let reader = try IndexReader(bytes: expected)
        #expect(try IndexContents(reading: reader) == contents)
        #expect(try reader.allPostings() == [3])
        #expect(reader.toc == IndexTOC(symbols: 5, series: 0x24, labelIndices: 0x40, labelIndicesTable: 0x98,
                                       postings: 0x68, postingsTable: 0xb5))
    }

    @Test func emptyIndexHasAHeaderSymbolsAllPostingsAndTOC() throws {
        try TemporaryDirectory.with { dir in
            let path = dir + "/index"
            try IndexWriter(path: path, sys: .system).close()
            let bytes = try TestFiles.read(path)
            // header 5 │ symbols 4+4+0+4 │ padding 3 │ all postings 4+4+4 │ label offsets 4+4+4 │
            // postings offsets 4+4+(1+1+1+1)+4+... │ TOC 52
            #expect(Array(bytes[0..<5]) == [0xBA, 0xAA, 0xD7, 0x00, 0x02])
            #expect(Array(bytes[5..<13]) == [0, 0, 0, 4, 0, 0, 0, 0])
            let reader = try IndexReader(bytes: bytes, file: path)
            #expect(reader.toc.symbols == 5)
            #expect(reader.toc.series == 17)
            #expect(reader.toc.labelIndices == 17)
            #expect(reader.toc.postings == 17)
            #expect(try reader.symbols() == [])
            #expect(try reader.allPostings() == [])
            #expect(reader.labelNames() == [])
            #expect(try reader.labelValues("") == [""])
        }
    }

    @Test func extremeTimesAndRefsWrapAsInGo() throws {
        let labels = try Labels(["__name__": "x"])
        let chunks = [
            IndexChunkMeta(ref: UInt64.max, minTime: .min, maxTime: -1),
            IndexChunkMeta(ref: 0, minTime: 0, maxTime: 0),
            IndexChunkMeta(ref: 1 << 63, minTime: 1, maxTime: .max),
        ]
        let contents = IndexContents(symbols: ["", "__name__", "x"], series: [.init(labels: labels, chunks: chunks)])
        try TemporaryDirectory.with { dir in
            try contents.write(to: dir + "/index")
            #expect(try IndexContents(reading: IndexReader.open(path: dir + "/index", sys: .system)) == contents)
        }
        var w = ByteWriter()
        IndexWriter.encodeChunks(Array(chunks.prefix(2)), into: &w)
        // count 2 │ varint(min) │ uvarint(-1 - min = 2^63-1) │ uvarint(2^64-1) │ uvarint(0 - -1 = 1) │
        // uvarint(0) │ varint(0 - (2^64-1) as int64 = +1)
        var expected = ByteWriter()
        expected.writeUvarint(2)
        expected.writeVarint(.min)
        expected.writeUvarint(UInt64(Int64.max))
        expected.writeUvarint(.max)
        expected.writeUvarint(1)
        expected.writeUvarint(0)
        expected.writeVarint(1)
        #expect(w.bytes == expected.bytes)
    }

    @Test func symbolsOfSeriesIncludeTheEmptyStringAndSortByBytes() throws {
        let a = try Labels(["__name__": "é", "job": "e\u{301}"])
        let b = try Labels(["__name__": "Z", "job": "a"])
        #expect(IndexWriter.symbols(of: [a, b]) == ["", "Z", "__name__", "a", "e\u{301}", "job", "é"])
        #expect(IndexWriter.symbols(of: [a, b]).map { Array($0.utf8) }
            == ["", "Z", "__name__", "a", "e\u{301}", "job", "é"].map { Array($0.utf8) })
    }

    @Test func writerRejectsMisuse() throws {
        try TemporaryDirectory.with { dir in
            let path = dir + "/index"
            func code(_ body: (IndexWriter) throws -> Void) -> TSDBError.Code? {
                do {
                    let w = try IndexWriter(path: path, sys: .system)
                    try body(w)
                    return nil
                } catch { return (error as? TSDBError)?.code }
            }
            let up = try Labels(["__name__": "up"])
            let upJob = try Labels(["__name__": "up", "job": "a"])
            let one = [IndexChunkMeta(ref: 8, minTime: 0, maxTime: 10)]
            #expect(code { try $0.addSymbols(["b", "a"]) } == .invalidArgument)
            #expect(code { try $0.addSymbols(["a", "a"]) } == .invalidArgument)
            #expect(code { try $0.addSymbols(["é", "e\u{301}"]) } == .invalidArgument, "bytes c3 a9 > 65 cc 81")
            #expect(code { try $0.addSymbols(["e\u{301}", "é"]) } == nil)
            #expect(code { try $0.addSymbols(["__name__"]); try $0.addSeries(up, chunks: []) } == .invalidArgument,
                    "value not a symbol")
            #expect(code {
                try $0.addSymbols(["__name__", "a", "job", "up"])
                try $0.addSeries(upJob, chunks: one)
                try $0.addSeries(up, chunks: one)
            } == .invalidArgument, "out of order")
            #expect(code {
                try $0.addSymbols(["__name__", "up"])
                try $0.addSeries(up, chunks: one)
                try $0.addSeries(up, chunks: one)
            } == .invalidArgument, "duplicate series")
            #expect(code {
                try $0.addSymbols(["__name__", "up"])
                try $0.addSeries(up, chunks: one)
                try $0.addSymbol("zzz")
            } == .invalidArgument, "symbol after series")
            #expect(code {
                try $0.addSymbols(["__name__", "up"])
                try $0.addSeries(up, chunks: [IndexChunkMeta(ref: 8, minTime: 10, maxTime: 9)])
            } == .invalidArgument, "maxTime < minTime")
            #expect(code {
                try $0.addSymbols(["__name__", "up"])
                try $0.addSeries(up, chunks: one + [IndexChunkMeta(ref: 9, minTime: 10, maxTime: 20)])
            } == .invalidArgument, "overlapping chunks")
            #expect(code {
                try $0.addSymbols(["__name__", "up"])
                try $0.close()
                try $0.addSeries(up, chunks: one)
            } == .invalidArgument, "series after close")
            #expect(code { try $0.close(); try $0.close() } == nil, "close is idempotent")
        }
    }

    @Test func writerReportsIOErrors() throws {
        try TemporaryDirectory.with { dir in
            var sys = Syscalls.system
            sys.fdatasync = { _ in -EIO }
            sys.fsync = sys.fdatasync  // directories too, as one count
            let w = try IndexWriter(path: dir + "/index", sys: sys)
            try w.addSymbols(["", "__name__", "up"])
            try w.addSeries(try Labels(["__name__": "up"]), chunks: [])
            #expect(throws: TSDBError.self) { try w.close() }
            #expect(throws: TSDBError.self) { try IndexWriter(path: dir + "/missing/index", sys: .system) }
        }
    }
}
