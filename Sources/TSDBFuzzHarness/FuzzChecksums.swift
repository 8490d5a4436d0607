import TSDB

/// Rewrites the CRC32C fields of a fuzz input so that they match, as far as the bytes can be
/// walked: libFuzzer cannot compute checksums, and without this nearly every mutation of a
/// checksummed format stops at the first check. The harnesses run each input as given and
/// with its checksums repaired, which reaches the decoding behind the checks.
///
/// Best effort and never traps: a field that cannot be located is left as it is.
package enum FuzzChecksums {
    /// An index: the TOC, the symbol table and postings offset table sections, every
    /// series entry (walked from the TOC's series offset) and every postings list.
    package static func index(_ b: inout [UInt8]) {
        guard b.count >= IndexFormat.headerLength + IndexFormat.tocLength else { return }
        let tocStart = b.count - IndexFormat.tocLength
        var offsets: [Int] = []
        for i in 0..<6 { offsets.append(Int(truncatingIfNeeded: min(bigEndian64(b, tocStart + 8 * i) ?? 0, UInt64(Int32.max)))) }
        for section in [offsets[0], offsets[3], offsets[5]] where section > 0 { fixSection(&b, at: section, limit: tocStart) }
        // Series entries: 16-byte aligned, `len <uvarint> │ content │ CRC`, up to the label indices.
        var at = offsets[1]
        let seriesEnd = min(offsets[2] > at ? offsets[2] : tocStart, tocStart)
        var count = 0
        while at > 0, at < seriesEnd, count < 100_000 {
            count += 1
            var r = ByteReader(b[at..<seriesEnd])
            guard let length = try? r.readUvarint(), length > 0, length <= UInt64(r.remaining), r.remaining - Int(length) >= 4 else { break }
            let content = (at + r.offset)..<(at + r.offset + Int(length))
            putCRC(&b, over: content, at: content.upperBound)
            at = (content.upperBound + 4 + 15) / 16 * 16
        }
        // Postings lists: 4-byte aligned `len <4b> │ content │ CRC`, up to the postings offset table.
        at = offsets[4]
        let postingsEnd = min(offsets[5] > at ? offsets[5] : tocStart, tocStart)
        count = 0
        while at > 0, at + 8 <= postingsEnd, count < 100_000 {
            count += 1
            guard let length = bigEndian32(b, at), Int(length) <= postingsEnd - at - 8 else { break }
            putCRC(&b, over: (at + 4)..<(at + 4 + Int(length)), at: at + 4 + Int(length))
            at = (at + 8 + Int(length) + 3) / 4 * 4
        }
        putCRC(&b, over: tocStart..<(b.count - 4), at: b.count - 4)
    }

    /// A block chunk segment: every `len <uvarint> │ encoding │ data │ CRC` after the header.
    package static func chunkSegment(_ b: inout [UInt8]) {
        var at = ChunkSegmentFormat.headerSize
        var count = 0
        while at < b.count, count < 100_000 {
            count += 1
            var r = ByteReader(b[at...])
            guard let length = try? r.readUvarint(), r.remaining >= 5, length <= UInt64(r.remaining - 5) else { return }
            let covered = (at + r.offset)..<(at + r.offset + 1 + Int(length))
            putCRC(&b, over: covered, at: covered.upperBound)
            at = covered.upperBound + 4
        }
    }

    /// A `chunks_head/` file: every chunk's CRC over its header and data.
    package static func headChunkFile(_ b: inout [UInt8]) {
        var at = HeadChunkFormat.headerSize
        var count = 0
        while at + HeadChunkFormat.fixedMetaSize < b.count, count < 100_000 {
            count += 1
            var r = ByteReader(b[(at + HeadChunkFormat.fixedMetaSize)...])
            guard let length = try? r.readUvarint(), r.remaining >= 4, length <= UInt64(r.remaining - 4) else { return }
            let end = at + HeadChunkFormat.fixedMetaSize + r.offset + Int(length)
            putCRC(&b, over: at..<end, at: end)
            at = end + 4
        }
    }

    /// A WAL segment: every fragment's CRC over its data, page by page.
    package static func walSegment(_ b: inout [UInt8]) {
        var at = 0
        while at + WALFormat.headerSize <= b.count {
            let type = b[at] & WALFormat.typeMask
            if type == WALFormat.padding {
                at = (at / WALFormat.pageSize + 1) * WALFormat.pageSize
                continue
            }
            let length = Int(b[at + 1]) << 8 | Int(b[at + 2])
            let data = (at + WALFormat.headerSize)..<(at + WALFormat.headerSize + length)
            guard data.upperBound <= b.count else { return }
            putCRC(&b, over: data, at: at + 3)
            at = data.upperBound
        }
    }

    /// A `tombstones` file: the CRC over everything after magic and version.
    package static func tombstones(_ b: inout [UInt8]) {
        guard b.count >= 9 else { return }
        putCRC(&b, over: 5..<(b.count - 4), at: b.count - 4)
    }

    private static func fixSection(_ b: inout [UInt8], at: Int, limit: Int) {
        guard at >= 0, at + 8 <= limit, let length = bigEndian32(b, at), Int(length) <= limit - at - 8 else { return }
        putCRC(&b, over: (at + 4)..<(at + 4 + Int(length)), at: at + 4 + Int(length))
    }

    private static func putCRC(_ b: inout [UInt8], over range: Range<Int>, at: Int) {
        guard range.lowerBound >= 0, range.upperBound <= b.count, at >= 0, at + 4 <= b.count else { return }
        let crc = b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
        for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
    }

    private static func bigEndian32(_ b: [UInt8], _ at: Int) -> UInt32? {
        guard at >= 0, at + 4 <= b.count else { return nil }
        return (0..<4).reduce(0) { $0 << 8 | UInt32(b[at + $1]) }
    }

    private static func bigEndian64(_ b: [UInt8], _ at: Int) -> UInt64? {
        guard at >= 0, at + 8 <= b.count else { return nil }
        return (0..<8).reduce(0) { $0 << 8 | UInt64(b[at + $1]) }
    }
}
