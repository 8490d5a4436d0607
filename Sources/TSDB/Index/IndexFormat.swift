/// Constants and shared pieces of the block `index` file, format v2 (FORMAT.md, "Block index").
///
/// Byte-compatible with Prometheus's `tsdb/index/index.go` as of 2.42, which still writes the
/// legacy label indices and their offset table; both are written here too, and never read.
package enum IndexFormat {
    /// First 4 bytes of every index file, big-endian (Prometheus `MagicIndex`).
    static let magic: UInt32 = 0xBAAA_D700
    /// The only version written and read (Prometheus `FormatV2`).
    static let version: UInt8 = 2
    /// Magic and version byte.
    package static let headerLength = 5
    /// A series entry starts at a multiple of 16; its reference is its offset / 16.
    package static let seriesAlignment = 16
    /// Label index and postings sections start at a multiple of 4.
    static let sectionAlignment = 4
    /// Every 32nd symbol, and every 32nd value of each label name in the postings offset table
    /// (plus the last one), is kept in memory by the reader (Prometheus `symbolFactor`).
    static let sampling = 32
    /// Six 8-byte section offsets and a CRC32C.
    package static let tocLength = 6 * 8 + 4
}

/// One chunk of a series as the index records it: where the chunk is in the block's chunk
/// segment files and the time of its first and last sample.
package struct IndexChunkMeta: Hashable, Sendable {
    /// Reference into the block's chunk files (segment index << 32 | byte offset).
    package var ref: UInt64
    package var minTime: Int64
    package var maxTime: Int64

    init(ref: UInt64, minTime: Int64, maxTime: Int64) {
        self.ref = ref
        self.minTime = minTime
        self.maxTime = maxTime
    }
}

/// The table of contents at the end of the index: where each section begins.
struct IndexTOC: Hashable, Sendable {
    var symbols: UInt64 = 0
    var series: UInt64 = 0
    var labelIndices: UInt64 = 0
    var labelIndicesTable: UInt64 = 0
    var postings: UInt64 = 0
    var postingsTable: UInt64 = 0

    /// The 52 bytes of the TOC: six big-endian offsets and the CRC32C over them.
    var encoded: [UInt8] {
        var w = ByteWriter(capacity: IndexFormat.tocLength)
        for v in [symbols, series, labelIndices, labelIndicesTable, postings, postingsTable] {
            w.writeBigEndian(v)
        }
        w.writeBigEndian(CRC32C.checksum(w.bytes))
        return w.bytes
    }
}

extension IndexTOC {
    /// Reads the TOC from the last 52 bytes of `bytes`, checking its CRC32C.
    init(decoding bytes: [UInt8], file: String?) throws(TSDBError) {
        guard bytes.count >= IndexFormat.headerLength + IndexFormat.tocLength else {
            throw .corruption("index of \(bytes.count) bytes is too short for header and table of contents",
                              file: file, offset: 0)
        }
        let start = bytes.count - IndexFormat.tocLength
        let body = start..<(bytes.count - 4)
        var r = ByteReader(bytes[start...], file: file, baseOffset: start)
        var values: [UInt64] = []
        for _ in 0..<6 { values.append(try r.readBigEndian(UInt64.self)) }
        let stored: UInt32 = try r.readBigEndian()
        let computed = IndexFormat.crc(bytes, body)
        guard stored == computed else {
            throw .corruption("table of contents CRC32C \(Hex.string(stored, width: 8)), computed \(Hex.string(computed, width: 8))",
                              file: file, offset: start)
        }
        symbols = values[0]
        series = values[1]
        labelIndices = values[2]
        labelIndicesTable = values[3]
        postings = values[4]
        postingsTable = values[5]
    }
}

extension IndexFormat {
    /// CRC32C (Castagnoli) of `bytes[range]`; `range` must lie within `bytes`.
    static func crc(_ bytes: [UInt8], _ range: Range<Int>) -> UInt32 {
        bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// The content range of the length-prefixed section at `offset`:
    /// `len <4b BE> │ content <len bytes> │ CRC32C <4b BE>`, with the CRC over the content checked.
    static func section(in bytes: [UInt8], at offset: Int, _ what: String, file: String?) throws(TSDBError) -> Range<Int> {
        guard offset >= 0, offset <= bytes.count - 8 else {
            throw .corruption("\(what) at offset \(offset) lies outside the \(bytes.count)-byte file", file: file, offset: offset)
        }
        var r = ByteReader(bytes[offset...], file: file, baseOffset: offset)
        let length = Int(try r.readBigEndian(UInt32.self))
        guard length <= bytes.count - offset - 8 else {
            throw .corruption("\(what) of \(length) bytes runs past the end of the file", file: file, offset: offset)
        }
        let content = (offset + 4)..<(offset + 4 + length)
        var crcReader = ByteReader(bytes[content.upperBound...], file: file, baseOffset: content.upperBound)
        let stored: UInt32 = try crcReader.readBigEndian()
        let computed = crc(bytes, content)
        guard stored == computed else {
            throw .corruption("\(what) CRC32C \(Hex.string(stored, width: 8)), computed \(Hex.string(computed, width: 8))", file: file, offset: offset)
        }
        return content
    }

    /// Reads a uvarint length and returns the range of the bytes that follow, as indices of
    /// `r.bytes`, without copying them.
    static func readStringRange<Bytes>(_ r: inout ByteReader<Bytes>) throws(TSDBError) -> Range<Int> {
        let at = r.offset
        let n = try r.readUvarint()
        guard n <= UInt64(r.remaining) else { throw r.error("string of \(n) bytes runs past the end", at: at) }
        let start = r.bytes.startIndex + r.offset
        try r.skip(Int(n))
        return start..<(start + Int(n))
    }

    /// Byte-wise comparison of `bytes[range]` with the UTF-8 of `string`, as Go compares strings.
    static func compare(_ bytes: [UInt8], _ range: Range<Int>, to string: String) -> Int {
        var s = string
        return s.withUTF8 { utf8 in
            bytes.withUnsafeBufferPointer { all in compare(UnsafeBufferPointer(rebasing: all[range]), utf8) }
        }
    }

    /// Byte-wise comparison of two ranges of the same array.
    static func compare(_ bytes: [UInt8], _ a: Range<Int>, _ b: Range<Int>) -> Int {
        bytes.withUnsafeBufferPointer { all in
            compare(UnsafeBufferPointer(rebasing: all[a]), UnsafeBufferPointer(rebasing: all[b]))
        }
    }

    private static func compare(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Int {
        let n = Swift.min(x.count, y.count)
        for i in 0..<n where x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }
}
