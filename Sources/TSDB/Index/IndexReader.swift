import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a block's `index` file, format v2, as written by Prometheus or ``IndexWriter``
/// (FORMAT.md, "Block index").
///
/// Opening checks the header, the TOC's CRC, the symbol table's CRC and the postings offset
/// table's CRC, and keeps every 32nd symbol offset and, per label name, every 32nd entry of the
/// postings offset table (plus the last), as Prometheus's `index.Reader` does. Series entries
/// and postings lists are decoded, and their CRCs checked, on each lookup.
///
/// Immutable after `init`; safe to share between threads. Damaged bytes never trap: they throw
/// ``TSDBError/Code/corruption`` naming the file and the offset of the damaged section.
/// Sections that the v2 reader does not need (label indices and their offset table) are not
/// read, as in Prometheus.
package final class IndexReader: Sendable {
    /// The whole file. (Memory mapping can replace this once blocks have a mapped-file type.)
    let bytes: [UInt8]
    /// Used in error messages.
    let file: String?
    let toc: IndexTOC

    /// The symbol table's entries, and the offset of every 32nd entry.
    private let symbolEntries: Range<Int>
    private let symbolCount: Int
    private let symbolSamples: [Int]
    /// Every symbol decoded, for tables small enough to hold (most blocks): a lookup is then
    /// an array read instead of a walk. Empty for larger tables.
    private let decodedSymbols: [String]
    static let decodedSymbolsLimit = 1 << 16

    /// The postings offset table's entries (after the count).
    let postingsTableEntries: Range<Int>
    /// Per label name (the all-postings name "" included): every 32nd entry and the last.
    let postingsSamples: [ByteString: [PostingsSample]]
    /// Label names in byte-wise order, without "".
    let sortedLabelNames: [String]
    /// `labelValues(_:)` answers already decoded: the index never changes, and the label
    /// value endpoints ask for the same names again and again.
    let labelValuesCache = Mutex<[ByteString: [String]]>([:])

    struct PostingsSample: Sendable {
        var value: String
        /// Absolute offset of the entry in the postings offset table.
        var entry: Int
    }

    /// Reads the index file at `path` into memory and opens it.
    package static func open(path: String, sys: Syscalls) throws(TSDBError) -> IndexReader {
        let f = try OpenFile.open(path, flags: O_RDONLY, sys: sys)
        let bytes = try f.readAll()
        try f.close()
        return try IndexReader(bytes: bytes, file: path)
    }

    /// Opens an index held in memory; `file` names it in errors.
    package init(bytes: [UInt8], file: String? = nil) throws(TSDBError) {
        self.bytes = bytes
        self.file = file
        var header = ByteReader(bytes, file: file)
        let magic: UInt32
        do { magic = try header.readBigEndian() } catch {
            throw .corruption("index header: expected 5 bytes, found \(bytes.count)", file: file, offset: 0)
        }
        guard magic == IndexFormat.magic else {
            throw .corruption("index magic \(Hex.string(IndexFormat.magic, width: 8)), found \(Hex.string(magic, width: 8))", file: file, offset: 0)
        }
        let version = try header.readByte()
        guard version == IndexFormat.version else {
            // Prometheus reads v1 (before 2.0's sorted tables) and, since 2.55, accepts a v3
            // that no Prometheus writes; neither is read here.
            if version == 1 || version == 3 {
                throw TSDBError(.unsupported, "index format version \(version) is not supported, only 2",
                                location: .init(file: file, offset: 4))
            }
            throw .corruption("index format version 2, found \(version)", file: file, offset: 4)
        }
        let toc = try IndexTOC(decoding: bytes, file: file)
        self.toc = toc
        let tocStart = bytes.count - IndexFormat.tocLength

        // Symbol table.
        let symbolsAt = try Self.sectionOffset(toc.symbols, "symbol table", limit: tocStart, file: file)
        let symbols = try IndexFormat.section(in: bytes, at: symbolsAt, "symbol table", file: file)
        guard symbols.count >= 4 else {
            throw .corruption("symbol table of \(symbols.count) bytes, too short for its 4-byte symbol count",
                              file: file, offset: symbolsAt)
        }
        var r = ByteReader(bytes[symbols], file: file, baseOffset: symbols.lowerBound)
        let count = Int(try r.readBigEndian(UInt32.self))
        var samples: [Int] = []
        samples.reserveCapacity(min(count, r.remaining) / IndexFormat.sampling + 1)
        for i in 0..<count {
            if i % IndexFormat.sampling == 0 { samples.append(symbols.lowerBound + r.offset) }
            let at = r.offset
            let n = try r.readUvarint()
            guard n <= UInt64(r.remaining) else {
                throw r.error("symbol \(i) of \(n) bytes runs past the end of the symbol table", at: at)
            }
            try r.skip(Int(n))
        }
        symbolEntries = (symbols.lowerBound + 4)..<symbols.upperBound
        symbolCount = count
        symbolSamples = samples
        if count <= Self.decodedSymbolsLimit {
            var d = ByteReader(bytes[symbolEntries], file: file, baseOffset: symbolEntries.lowerBound)
            var all: [String] = []
            all.reserveCapacity(count)
            for _ in 0..<count { all.append(try d.readLengthPrefixedString()) }
            decodedSymbols = all
        } else {
            decodedSymbols = []
        }

        // Postings offset table.
        let tableAt = try Self.sectionOffset(toc.postingsTable, "postings offset table", limit: tocStart, file: file)
        let table = try IndexFormat.section(in: bytes, at: tableAt, "postings offset table", file: file)
        // A zeroed section reads as length 0 with CRC32C 0, the CRC of no bytes: the count is missing.
        guard table.count >= 4 else {
            throw .corruption("postings offset table of \(table.count) bytes, too short for its 4-byte entry count",
                              file: file, offset: tableAt)
        }
        postingsTableEntries = (table.lowerBound + 4)..<table.upperBound
        (postingsSamples, sortedLabelNames) = try Self.samplePostingsTable(bytes, table, file: file)
    }

    private static func sectionOffset(_ v: UInt64, _ what: String, limit: Int, file: String?) throws(TSDBError) -> Int {
        guard v >= UInt64(IndexFormat.headerLength), v < UInt64(limit) else {
            throw .corruption("TOC offset of the \(what) \(v) is not within the file's \(limit) bytes before the TOC",
                              file: file, offset: limit)
        }
        return Int(v)
    }

    // MARK: - Symbols

    /// Number of symbols in the symbol table.
    var symbolTableCount: Int { symbolCount }

    /// The symbol with index `index`. An array read for tables of up to 65,536 symbols, a walk
    /// over at most 31 entries beyond.
    package func symbol(_ index: UInt64) throws(TSDBError) -> String {
        guard index < UInt64(symbolCount) else {
            throw .corruption("symbol reference \(index), but the table holds \(symbolCount)", file: file,
                              offset: symbolEntries.lowerBound - 8)
        }
        let i = Int(index)
        if i < decodedSymbols.count { return decodedSymbols[i] }
        let start = symbolSamples[i / IndexFormat.sampling]
        var r = ByteReader(bytes[start..<symbolEntries.upperBound], file: file, baseOffset: start)
        for _ in 0..<(i % IndexFormat.sampling) { _ = try IndexFormat.readStringRange(&r) }
        return try r.readLengthPrefixedString()
    }

    /// All symbols in table order (byte-wise sorted in a valid index).
    package func symbols() throws(TSDBError) -> [String] {
        var r = ByteReader(bytes[symbolEntries], file: file, baseOffset: symbolEntries.lowerBound)
        var out: [String] = []
        out.reserveCapacity(symbolCount)
        for _ in 0..<symbolCount { out.append(try r.readLengthPrefixedString()) }
        return out
    }

    // MARK: - Series

    /// The labels and chunk metas of the series `ref` (its offset / 16, as postings hold it).
    ///
    /// Labels with an empty value, which Prometheus never writes, are dropped as ``Labels``
    /// does. Throws ``TSDBError/Code/corruption`` if the entry is damaged, its labels are not
    /// sorted by name, or a symbol reference is out of range.
    package func series(_ ref: UInt64) throws(TSDBError) -> (labels: Labels, chunks: [IndexChunkMeta]) {
        let (offset, overflow) = ref.multipliedReportingOverflow(by: UInt64(IndexFormat.seriesAlignment))
        guard !overflow, offset >= UInt64(IndexFormat.headerLength), offset < UInt64(bytes.count) else {
            // The offset named is where the entry would be (the postings entry holding the
            // reference is not known here).
            throw .corruption("series reference \(ref) points outside the \(bytes.count)-byte file", file: file,
                              offset: overflow ? Int.max : Int(clamping: offset))
        }
        let at = Int(offset)
        var lengthReader = ByteReader(bytes[at...], file: file, baseOffset: at)
        let length = try lengthReader.readUvarint()
        guard length <= UInt64(lengthReader.remaining), lengthReader.remaining - Int(length) >= 4 else {
            throw .corruption("series entry of \(length) bytes runs past the end of the file", file: file, offset: at)
        }
        let content = (at + lengthReader.offset)..<(at + lengthReader.offset + Int(length))
        var crcReader = ByteReader(bytes[content.upperBound...], file: file, baseOffset: content.upperBound)
        let stored: UInt32 = try crcReader.readBigEndian()
        let computed = IndexFormat.crc(bytes, content)
        guard stored == computed else {
            throw .corruption("series entry CRC32C \(Hex.string(stored, width: 8)), computed \(Hex.string(computed, width: 8))", file: file, offset: at)
        }

        var r = ByteReader(bytes[content], file: file, baseOffset: content.lowerBound)
        let labelCount = try r.readUvarint()
        var labels: [Label] = []
        labels.reserveCapacity(Int(min(labelCount, UInt64(r.remaining / 2))))
        for _ in 0..<labelCount {
            let nameAt = r.offset
            let name = try symbol(try r.readUvarint())
            let value = try symbol(try r.readUvarint())
            if let last = labels.last, compareUTF8(last.name, name) >= 0 {
                throw r.error("series labels not sorted by name: \(goQuote(name)) after \(goQuote(last.name))", at: nameAt)
            }
            if name.isEmpty { throw r.error("series label with an empty name", at: nameAt) }
            labels.append(Label(name: name, value: value))
        }
        labels.removeAll { $0.value.isEmpty }
        guard !labels.isEmpty else { throw r.error("series entry has no labels", at: 0) }

        let chunkCount = try r.readUvarint()
        var chunks: [IndexChunkMeta] = []
        if chunkCount > 0 {
            chunks.reserveCapacity(Int(min(chunkCount, UInt64(r.remaining / 3 + 1))))
            var minTime = try r.readVarint()
            var maxTime = minTime &+ Int64(bitPattern: try r.readUvarint())
            var chunkRef = try r.readUvarint()
            chunks.append(IndexChunkMeta(ref: chunkRef, minTime: minTime, maxTime: maxTime))
            for _ in 1..<chunkCount {
                minTime = maxTime &+ Int64(bitPattern: try r.readUvarint())
                maxTime = minTime &+ Int64(bitPattern: try r.readUvarint())
                chunkRef = UInt64(bitPattern: Int64(bitPattern: chunkRef) &+ (try r.readVarint()))
                chunks.append(IndexChunkMeta(ref: chunkRef, minTime: minTime, maxTime: maxTime))
            }
        }
        return (Labels(uncheckedSorted: labels), chunks)
    }
}
