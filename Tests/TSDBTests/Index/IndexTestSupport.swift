import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Everything an index holds that a writer takes back: the symbol table and each series.
struct IndexContents: Equatable {
    struct Series: Equatable {
        var labels: Labels
        var chunks: [IndexChunkMeta]
    }

    var symbols: [String]
    var series: [Series]

    /// Reads every symbol and, through the all-postings list, every series.
    init(reading reader: IndexReader) throws {
        symbols = try reader.symbols()
        series = try reader.allPostings().map { ref in
            let (labels, chunks) = try reader.series(ref)
            return Series(labels: labels, chunks: chunks)
        }
    }

    init(symbols: [String], series: [Series]) {
        self.symbols = symbols
        self.series = series
    }

    /// Writes the contents with ``IndexWriter`` to `path`.
    func write(to path: String) throws {
        let writer = try IndexWriter(path: path, sys: .system)
        try writer.addSymbols(symbols)
        for s in series { try writer.addSeries(s.labels, chunks: s.chunks) }
        try writer.close()
    }

    /// label name → value → positions in `series`, the postings a correct index must give.
    /// Keys compare bytes: "é" and "e\u{301}" are two values.
    var expectedPostings: [ByteString: [ByteString: [Int]]] {
        var out: [ByteString: [ByteString: [Int]]] = [:]
        for (i, s) in series.enumerated() {
            for label in s.labels {
                out[ByteString(label.name), default: [:]][ByteString(label.value), default: []].append(i)
            }
        }
        return out
    }

    /// Checks the reader's names, values and postings against the series it reads, including
    /// lookups of values and names that are absent.
    static func verifyAnswers(of reader: IndexReader) throws {
        let contents = try IndexContents(reading: reader)
        let refs = try reader.allPostings()
        #expect(refs.count == contents.series.count)
        let expected = contents.expectedPostings
        #expect(reader.labelNames() == expected.keys.sorted().map(\.string))
        for (nameKey, values) in expected {
            let name = nameKey.string
            #expect(try reader.labelValues(name) == values.keys.sorted().map(\.string))
            for (value, positions) in values {
                #expect(try reader.postings(name, value.string) == positions.map { refs[$0] }, "\(name)=\(value.string)")
                // Just before and just after each value: absent, unless it exists.
                for probe in [value.string + "\u{0}", String(value.string.dropLast())] where values[ByteString(probe)] == nil {
                    #expect(try reader.postings(name, probe) == [], "\(name)=\(probe)")
                }
            }
            #expect(try reader.postings(name, "") == [])
            #expect(try reader.postings(name, "\u{10FFFF}") == [])
            #expect(try reader.postings(name, values: values.keys.map(\.string)) == refs.indices.filter {
                contents.series[$0].labels[name] != nil
            }.map { refs[$0] })
        }
        #expect(try reader.postings("no_such_name", "x") == [])
        #expect(try reader.labelValues("no_such_name") == [])
        #expect(try reader.labelValues("") == [""], "the all-postings entry is always there")
        // Series references are offsets / 16, ascending, and the series sorted.
        #expect(refs == refs.sorted())
        #expect(contents.series.map(\.labels) == contents.series.map(\.labels).sorted { Labels.compare($0, $1) < 0 })
        for s in contents.series {
            for (i, c) in s.chunks.enumerated() {
                #expect(c.minTime <= c.maxTime)
                if i > 0 { #expect(c.minTime > s.chunks[i - 1].maxTime) }
            }
        }
    }
}

/// Random index contents: label sets (unicode values among them), sorted as the writer needs,
/// with valid chunk metas.
enum RandomIndex {
    static let names = ["__name__", "job", "instance", "a", "b_", "zone", "le", "Z"]
    static let specialValues = [
        "é", "e\u{301}", "日本語", "🙂", "\"quoted\"", "back\\slash", "new\nline", "tab\t", "x", "X", "0",
        "a b", String(repeating: "long", count: 50), "\u{7f}", "\u{FEFF}bom",
    ]

    static func value(_ rng: inout SeededRandom, spread: UInt64) -> String {
        switch rng.next() % 4 {
        case 0: return specialValues[Int(rng.next() % UInt64(specialValues.count))]
        default: return "v\(rng.next() % spread)"
        }
    }

    static func contents(_ rng: inout SeededRandom, seriesCount: Int) throws -> IndexContents {
        var set = Set<Labels>()
        var attempts = 0
        // One label name with many values, so lookups cross the 32-entry sampling.
        let spread = 40 + rng.next() % 260
        while set.count < seriesCount && attempts < seriesCount * 10 {
            attempts += 1
            var pairs: [(String, String)] = []
            for name in names where rng.next() % 3 != 0 {
                pairs.append((name, value(&rng, spread: name == "instance" ? spread * 8 : spread)))
            }
            if pairs.isEmpty { pairs.append(("__name__", "up")) }
            set.insert(try Labels(pairs))
        }
        let sorted = set.sorted { Labels.compare($0, $1) < 0 }
        var ref: UInt64 = rng.next() % 1000
        let series = sorted.map { labels in
            var chunks: [IndexChunkMeta] = []
            var t = Int64(bitPattern: rng.next() % (1 << 44)) - (1 << 43)
            for _ in 0..<Int(rng.next() % 5) {
                let minTime = t + Int64(rng.next() % 100_000) + 1
                let maxTime = minTime + Int64(rng.next() % 7_200_000)
                chunks.append(IndexChunkMeta(ref: ref, minTime: minTime, maxTime: maxTime))
                // Refs mostly grow, as in a block, but may jump back: the delta is signed.
                ref = rng.next() % 8 == 0 ? rng.next() % (1 << 40) : ref + 1 + rng.next() % 2000
                t = maxTime
            }
            return IndexContents.Series(labels: labels, chunks: chunks)
        }
        return IndexContents(symbols: IndexWriter.symbols(of: sorted), series: series)
    }
}
