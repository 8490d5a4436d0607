/// Damage found while reading a segment.
struct SegmentDamage: Error, Sendable {
    enum Kind: Sendable {
        /// The segment ends inside a record: a write cut short by a crash or a failed write.
        case torn
        /// Bytes that no writer produces: a bad checksum, an impossible header or length.
        case corrupt
    }
    var kind: Kind
    /// Offset in the segment of the first fragment of the damaged record.
    var offset: Int
    var reason: String
}

/// Reads the records of one WAL segment held in memory (FORMAT.md §6), reassembling
/// fragments and decompressing. Never traps on any bytes.
struct SegmentReader {
    let bytes: [UInt8]
    let path: String
    /// Where the next record starts (or the end of the last good one).
    private(set) var offset = 0

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// The next record's payload and its offset; nil at a clean end of the segment.
    mutating func next() throws(SegmentDamage) -> (record: [UInt8], offset: Int)? {
        let pageSize = WALFormat.pageSize
        var record: [UInt8] = []
        var fragments = 0
        var flags: UInt8 = 0
        var start = offset
        var at = offset
        while true {
            guard at < bytes.count else {
                if fragments == 0 { offset = at; return nil }
                throw SegmentDamage(kind: .torn, offset: start, reason: "the segment ends after \(fragments) fragment(s) of a record")
            }
            let typeByte = bytes[at]
            let type = typeByte & WALFormat.typeMask
            if type == WALFormat.padding {
                // Padding runs to the end of the page (or of a short segment), all zeros.
                let pageEnd = min((at / pageSize + 1) * pageSize, bytes.count)
                if let bad = bytes[at..<pageEnd].firstIndex(where: { $0 != 0 }) {
                    if fragments == 0 { start = at }
                    throw SegmentDamage(kind: .corrupt, offset: start, reason: "non-zero byte at offset \(bad) in page padding")
                }
                at = pageEnd
                if fragments == 0 { start = at; offset = at }
                continue
            }
            guard typeByte & ~WALFormat.knownFlags == 0, type <= WALFormat.last else {
                throw SegmentDamage(kind: .corrupt, offset: fragments == 0 ? at : start, reason: "invalid record header byte 0x\(String(typeByte, radix: 16)) at offset \(at)")
            }
            guard at + WALFormat.headerSize <= bytes.count else {
                throw SegmentDamage(kind: .torn, offset: fragments == 0 ? at : start, reason: "the segment ends inside a record header at offset \(at)")
            }
            let length = Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
            let crc = UInt32(bytes[at + 3]) << 24 | UInt32(bytes[at + 4]) << 16 | UInt32(bytes[at + 5]) << 8 | UInt32(bytes[at + 6])
            let dataStart = at + WALFormat.headerSize
            guard at % pageSize + WALFormat.headerSize + length <= pageSize else {
                throw SegmentDamage(kind: .corrupt, offset: fragments == 0 ? at : start, reason: "record fragment of \(length) bytes at offset \(at) crosses its page boundary")
            }
            guard dataStart + length <= bytes.count else {
                throw SegmentDamage(kind: .torn, offset: fragments == 0 ? at : start, reason: "the segment ends inside a record fragment of \(length) bytes at offset \(at)")
            }
            let actual = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[dataStart..<(dataStart + length)])) }
            guard actual == crc else {
                throw SegmentDamage(kind: .corrupt, offset: fragments == 0 ? at : start, reason: "checksum mismatch in record fragment at offset \(at): stored 0x\(String(crc, radix: 16)), computed 0x\(String(actual, radix: 16))")
            }
            let expected = fragments == 0 ? (type == WALFormat.full || type == WALFormat.first) : (type == WALFormat.middle || type == WALFormat.last)
            guard expected else {
                throw SegmentDamage(kind: .corrupt, offset: fragments == 0 ? at : start, reason: "unexpected fragment type \(type) at offset \(at) after \(fragments) fragment(s)")
            }
            if fragments == 0 {
                start = at
                flags = typeByte & ~WALFormat.typeMask
            } else if typeByte & ~WALFormat.typeMask != flags {
                throw SegmentDamage(kind: .corrupt, offset: start, reason: "fragments of one record disagree on compression at offset \(at)")
            }
            record.append(contentsOf: bytes[dataStart..<(dataStart + length)])
            fragments += 1
            at = dataStart + length
            if type == WALFormat.full || type == WALFormat.last {
                offset = at
                return (try decompress(record, flags: flags, at: start), start)
            }
        }
    }

    private func decompress(_ record: [UInt8], flags: UInt8, at: Int) throws(SegmentDamage) -> [UInt8] {
        do throws(TSDBError) {
            switch flags {
            case 0:
                return record
            case WALFormat.snappyFlag:
                return try Snappy.decompress(record)
            case WALFormat.lz4Flag:
                var r = ByteReader(record)
                let size = try r.readUvarint()
                guard size <= UInt64(Int32.max) else { throw TSDBError.corruption("LZ4 record size \(size) within 2 GiB") }
                return try LZ4.decompress(Array(record[r.offset...]), decompressedSize: Int(size))
            case WALFormat.zstdFlag:
                throw TSDBError(.unsupported, "zstd-compressed WAL records (Prometheus --storage.tsdb.wal-compression-type=zstd) are not supported")
            default:
                throw TSDBError.corruption("one compression flag, found 0x\(String(flags, radix: 16))")
            }
        } catch {
            throw SegmentDamage(kind: .corrupt, offset: at, reason: "record at offset \(at) does not decompress: \(error.message)")
        }
    }

    /// Whether a valid record begins at any page boundary after `offset`: damage followed by
    /// good records is corruption in the middle, not a torn tail.
    func hasValidRecord(after offset: Int) -> Bool {
        var page = (offset / WALFormat.pageSize + 1) * WALFormat.pageSize
        while page + WALFormat.headerSize <= bytes.count {
            var probe = SegmentReader(bytes: bytes, path: path)
            probe.offset = page
            if case .some(.some) = try? probe.next() { return true }
            page += WALFormat.pageSize
        }
        return false
    }
}
