/// Damage found while reading a segment.
package struct SegmentDamage: Error, Sendable {
    package enum Kind: Sendable {
        /// The segment ends inside a record: a write cut short by a crash or a failed write.
        case torn
        /// Bytes that no writer produces: a bad checksum, an impossible header or length.
        case corrupt
        /// A record another writer produced in a form this reader does not implement (zstd).
        /// Never cut away: it is data.
        case unsupported
    }
    package var kind: Kind
    /// Offset in the segment of the first fragment of the damaged record.
    package var offset: Int
    package var reason: String
}

/// A segment's bytes, read into memory or mapped; they live as long as this object.
final class SegmentBytes: @unchecked Sendable {
    // @unchecked: immutable after init; the memory is never written once filled.
    let raw: UnsafeRawBufferPointer
    private let mapped: MappedFile?
    var isMapped: Bool { mapped != nil }

    init(copying bytes: [UInt8]) {
        let owned = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { owned.copyMemory(from: $0) }
        raw = UnsafeRawBufferPointer(rebasing: owned[0..<bytes.count])
        mapped = nil
    }

    /// Maps the file: its pages are read as they are first touched, by whichever thread
    /// touches them. Only for a file no one truncates meanwhile (a read past a new end
    /// raises SIGBUS), i.e. while the directory lock is held.
    init(mapping path: String, sys: Syscalls) throws(TSDBError) {
        let file = try MappedFile.open(path, sys: sys)
        mapped = file
        raw = file.withUnsafeBytes { $0 }
    }

    deinit {
        if mapped == nil { UnsafeMutableRawPointer(mutating: raw.baseAddress)?.deallocate() }
    }
}

/// Reads the records of one WAL segment held in memory (FORMAT.md §6), reassembling
/// fragments and decompressing. Never traps on any bytes.
package struct SegmentReader {
    private let storage: SegmentBytes
    /// The segment's bytes, valid while the reader is.
    var bytes: UnsafeRawBufferPointer { storage.raw }
    /// Whether the bytes are a shared mapping of the file (else a private copy).
    var isMapped: Bool { storage.isMapped }
    let path: String
    /// Where the next record starts (or the end of the last good one).
    private(set) var offset = 0

    package init(bytes: [UInt8], path: String) {
        storage = SegmentBytes(copying: bytes)
        self.path = path
    }

    /// The segment at `path`, mapped if `map` (see ``SegmentBytes/init(mapping:sys:)``),
    /// else read into memory.
    static func open(_ path: String, sys: Syscalls, map: Bool) throws(TSDBError) -> SegmentReader {
        if map { return SegmentReader(storage: try SegmentBytes(mapping: path, sys: sys), path: path) }
        return SegmentReader(bytes: try WALRecovery.readFile(path, sys: sys), path: path)
    }

    private init(storage: SegmentBytes, path: String) {
        self.storage = storage
        self.path = path
    }

    /// Reads on from `offset`, where a record (or page padding) begins.
    mutating func resume(at offset: Int) {
        self.offset = offset
    }

    /// The next record's payload and its offset; nil at a clean end of the segment.
    package mutating func next() throws(SegmentDamage) -> (record: [UInt8], offset: Int)? {
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
            let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[dataStart..<(dataStart + length)]))
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
            if type == WALFormat.full && flags == WALFormat.snappyFlag && length > 0 {
                // The common case: decompress straight from the segment, no reassembly copy.
                at = dataStart + length
                offset = at
                let end = at
                let out = Snappy.decompress(UnsafeRawBufferPointer(rebasing: bytes[dataStart..<end]))
                guard let out else {
                    throw SegmentDamage(kind: .corrupt, offset: start, reason: "record at offset \(start) does not decompress: not a valid snappy block")
                }
                return (out, start)
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
        if flags == WALFormat.zstdFlag && !record.isEmpty {
            // A zstd frame begins with the magic number FD2FB528 (little-endian). Without it,
            // the flag is more likely a damaged header byte (the checksum does not cover it).
            guard record.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) else {
                throw SegmentDamage(kind: .corrupt, offset: at, reason: "the record at offset \(at) has the zstd flag but no zstd frame")
            }
            throw SegmentDamage(kind: .unsupported, offset: at, reason: "the record at offset \(at) is zstd-compressed (Prometheus ≥ 2.51 with --storage.tsdb.wal-compression-type=zstd), which this engine does not read; convert the WAL with Prometheus (snappy or no compression) first")
        }
        do throws(TSDBError) {
            switch flags {
            case 0:
                return record
            case _ where record.isEmpty:
                // Prometheus's reader returns an empty record for empty compressed data.
                return record
            case WALFormat.snappyFlag:
                return try Snappy.decompress(record)
            case WALFormat.lz4Flag:
                var r = ByteReader(record)
                let size = try r.readUvarint()
                guard size <= UInt64(Int32.max) else { throw TSDBError.corruption("LZ4 record size \(size) within 2 GiB") }
                return try LZ4.decompress(Array(record[r.offset...]), decompressedSize: Int(size))
            default:
                throw TSDBError.corruption("one compression flag, found 0x\(String(flags, radix: 16))")
            }
        } catch {
            throw SegmentDamage(kind: .corrupt, offset: at, reason: "record at offset \(at) does not decompress: \(error.message)")
        }
    }

    /// Whether a record begins somewhere after the damage at `offset`: damage followed by
    /// good records is corruption in the middle, not a torn tail. A record begins where a
    /// `full` or `first` fragment has a sane header and a matching checksum. The rest of the
    /// damaged page is searched byte by byte (the damage may have broken the chain of
    /// fragments there); each later page is followed fragment by fragment from its start,
    /// and byte by byte from wherever that chain breaks. Costs one pass over the bytes
    /// after the damage, plus up to one checksum per byte in pages where the chain breaks.
    package func hasValidRecord(after offset: Int) -> Bool {
        let pageSize = WALFormat.pageSize
        guard offset >= 0 else { return false }
        var pageStart = offset / pageSize * pageSize
        var at = offset + 1
        var followChain = false
        while pageStart < bytes.count {
            let pageEnd = min(pageStart + pageSize, bytes.count)
            if followChain {
                while at < pageEnd {
                    if bytes[at] == 0 {
                        if bytes[at..<pageEnd].allSatisfy({ $0 == 0 }) { at = pageEnd }
                        break
                    }
                    guard let fragment = checkedFragment(at: at) else { break }
                    if fragment.type == WALFormat.full || fragment.type == WALFormat.first { return true }
                    at = fragment.end
                }
            }
            while at < pageEnd {
                if let fragment = checkedFragment(at: at), fragment.end > at + WALFormat.headerSize,
                   fragment.type == WALFormat.full || fragment.type == WALFormat.first {
                    return true
                }
                at += 1
            }
            pageStart += pageSize
            at = pageStart
            followChain = true
        }
        return false
    }

    /// The fragment at `at` if its header is one a writer produces and its checksum matches.
    private func checkedFragment(at: Int) -> (type: UInt8, end: Int)? {
        guard at >= 0, at + WALFormat.headerSize <= bytes.count else { return nil }
        let typeByte = bytes[at]
        let type = typeByte & WALFormat.typeMask
        guard type != WALFormat.padding, type <= WALFormat.last, typeByte & ~WALFormat.knownFlags == 0 else { return nil }
        let length = Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
        let dataStart = at + WALFormat.headerSize
        guard at % WALFormat.pageSize + WALFormat.headerSize + length <= WALFormat.pageSize,
              dataStart + length <= bytes.count else { return nil }
        let crc = UInt32(bytes[at + 3]) << 24 | UInt32(bytes[at + 4]) << 16 | UInt32(bytes[at + 5]) << 8 | UInt32(bytes[at + 6])
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[dataStart..<(dataStart + length)]))
        return actual == crc ? (type, dataStart + length) : nil
    }
}
