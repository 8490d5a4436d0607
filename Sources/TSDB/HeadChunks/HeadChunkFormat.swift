/// The bytes of Prometheus's head chunk files, `chunks_head/000001`, `000002`, … (FORMAT.md
/// §13; Prometheus `tsdb/docs/format/head_chunks.md` and `tsdb/chunks/head_chunks.go`).
///
/// A file is an 8-byte header (magic `0x0130BC91`, version 1, three bytes of padding) and
/// then chunks, each: series ref <8b> │ minTime <8b> │ maxTime <8b> │ encoding <1b> │
/// len <uvarint> │ data │ CRC-32C <4b> over everything before it in the chunk.
package enum HeadChunkFormat {
    static let magic: UInt32 = 0x0130_BC91
    static let version: UInt8 = 1
    package static let headerSize = 8
    /// A file is cut before a chunk that would take it past this size (Prometheus's
    /// `MaxHeadChunkFileSize`).
    static let maxFileSize = 128 * 1024 * 1024
    /// Series ref, minTime, maxTime and the encoding byte: the fixed part before the length.
    package static let fixedMetaSize = 8 + 8 + 8 + 1
    static let crcSize = 4
    /// Prometheus sets this bit of the encoding byte on out-of-order chunks.
    static let outOfOrderMask: UInt8 = 0x80

    /// File name of sequence number `seq`: at least six decimal digits (`%06d`).
    package static func fileName(_ seq: Int) -> String {
        let digits = String(seq)
        return digits.count >= 6 ? digits : String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// Sequence numbers of the head chunk files in `directory`, ascending; names that are not
    /// all decimal digits are ignored, as Prometheus's `listChunkFiles` does. Empty when the
    /// directory does not exist.
    package static func fileSequences(in directory: String, sys: Syscalls) throws(TSDBError) -> [Int] {
        let names = try FileSystem.list(directory, sys: sys) ?? []
        var out: [Int] = []
        for name in names where !name.isEmpty && name.utf8.count <= 18 && name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            if let seq = Int(name) { out.append(seq) }
        }
        return out.sorted()
    }

    /// Bytes a chunk with `dataCount` bytes of data takes in a file.
    static func recordSize(dataCount: Int) -> Int {
        fixedMetaSize + Varint.uvarintSize(UInt64(dataCount)) + dataCount + crcSize
    }

    /// The file header: magic, version, padding.
    static let header: [UInt8] = [0x01, 0x30, 0xBC, 0x91, version, 0, 0, 0]

    /// Appends one chunk record to `buffer`.
    static func appendChunk(
        seriesRef: UInt64, minTime: Int64, maxTime: Int64, encoding: UInt8, data: [UInt8], to buffer: inout [UInt8]
    ) {
        let start = buffer.count
        appendBigEndian(seriesRef, to: &buffer)
        appendBigEndian(UInt64(bitPattern: minTime), to: &buffer)
        appendBigEndian(UInt64(bitPattern: maxTime), to: &buffer)
        buffer.append(encoding)
        var n = UInt64(data.count)
        while n >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: n) | 0x80)
            n >>= 7
        }
        buffer.append(UInt8(n))
        buffer.append(contentsOf: data)
        let crc = buffer.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        appendBigEndian(crc, to: &buffer)
    }

    @inline(__always)
    private static func appendBigEndian<T: FixedWidthInteger>(_ v: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: v.bigEndian) { buffer.append(contentsOf: $0) }
    }
}

/// Where a chunk lives in `chunks_head/`: the file's sequence number in the upper 32 bits,
/// the byte offset of the chunk in the file in the lower 32 (Prometheus's
/// `ChunkDiskMapperRef`).
struct HeadChunkRef: Hashable, Sendable, CustomStringConvertible {
    let rawValue: UInt64

    init(rawValue: UInt64) { self.rawValue = rawValue }

    init(file seq: Int, offset: Int) {
        rawValue = UInt64(truncatingIfNeeded: seq) << 32 | UInt64(truncatingIfNeeded: offset) & 0xffff_ffff
    }

    var file: Int { Int(rawValue >> 32) }
    var offset: Int { Int(rawValue & 0xffff_ffff) }
    var description: String { "\(file):\(offset)" }
}

/// One chunk read back from a head chunk file. `data` points into the file's mapping and is
/// valid only inside the scan's callback.
package struct ScannedHeadChunk {
    let ref: HeadChunkRef
    let seriesRef: UInt64
    let minTime: Int64
    let maxTime: Int64
    let encoding: UInt8
    let data: UnsafeRawBufferPointer
}

/// How reading a head chunk file ended.
package enum HeadChunkScanEnd: Equatable {
    /// The end of the file, or zero bytes where the next chunk would start (Prometheus
    /// preallocates its files and leaves the rest zero).
    case clean
    /// Damage at `offset`, where the chunk that fails begins. `torn` when the file simply
    /// ends inside the chunk (a write cut short); otherwise the bytes are wrong.
    case damaged(offset: Int, torn: Bool, reason: String)
}

extension HeadChunkFormat {
    /// Checks the 8-byte header of a file; returns what is wrong, or nil.
    package static func headerProblem(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count >= headerSize else { return "a file of \(bytes.count) bytes is shorter than the 8-byte header" }
        let m = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard m == magic else { return "magic number 0x\(String(m, radix: 16)) at offset 0, expected 0x130bc91" }
        guard bytes[4] == version else { return "format version \(bytes[4]) at offset 4, expected 1" }
        return nil
    }

    /// Walks the chunks of one file (header already checked), checking every length and, if
    /// `verify`, every CRC, and calls `body` with each; stops at the first damage. Never
    /// traps on any bytes. Without `verify`, ``checksumMismatch(_:in:)`` checks a chunk later.
    package static func scan(
        _ bytes: UnsafeRawBufferPointer, file seq: Int, verify: Bool = true, _ body: (ScannedHeadChunk) throws(TSDBError) -> Void
    ) throws(TSDBError) -> HeadChunkScanEnd {
        let end = bytes.count
        var at = headerSize
        while at < end {
            let start = at
            // Too short for a chunk's fixed part: fine if only zeros follow.
            if end - at < fixedMetaSize + 1 {
                if bytes[at...].allSatisfy({ $0 == 0 }) { return .clean }
                return .damaged(offset: start, torn: true, reason: "the file ends inside a chunk header at offset \(start)")
            }
            let seriesRef = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            let minTime = Int64(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self)))
            let maxTime = Int64(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at + 16, as: UInt64.self)))
            // As Prometheus's IterateAllChunks: a zero ref, minTime and maxTime end the file.
            if seriesRef == 0 && minTime == 0 && maxTime == 0 { return .clean }
            let encoding = bytes[at + 24]
            at += fixedMetaSize
            var length: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard at < end else {
                    return .damaged(offset: start, torn: true, reason: "the file ends inside the length of the chunk at offset \(start)")
                }
                let b = bytes[at]
                at += 1
                length |= UInt64(b & 0x7f) << shift
                if b < 0x80 { break }
                shift += 7
                guard shift < 35 else {
                    return .damaged(offset: start, torn: false, reason: "the length of the chunk at offset \(start) is not a uvarint of at most 5 bytes")
                }
            }
            guard length <= UInt64(end - at), Int(length) + crcSize <= end - at else {
                if length > UInt64(maxFileSize) {
                    return .damaged(offset: start, torn: false, reason: "chunk at offset \(start) claims \(length) bytes of data, more than a head chunk file holds")
                }
                return .damaged(offset: start, torn: true, reason: "the file ends inside the \(length) data bytes of the chunk at offset \(start)")
            }
            let dataStart = at
            let dataEnd = at + Int(length)
            let chunk = ScannedHeadChunk(
                ref: HeadChunkRef(file: seq, offset: start), seriesRef: seriesRef, minTime: minTime, maxTime: maxTime,
                encoding: encoding, data: UnsafeRawBufferPointer(rebasing: bytes[dataStart..<dataEnd]))
            if verify, let mismatch = checksumMismatch(chunk, in: bytes) { return mismatch }
            at = dataEnd + crcSize
            try body(chunk)
        }
        return .clean
    }

    /// The damage of a scanned chunk whose stored CRC (over its header and data) does not
    /// match, or nil.
    static func checksumMismatch(_ chunk: ScannedHeadChunk, in bytes: UnsafeRawBufferPointer) -> HeadChunkScanEnd? {
        let start = chunk.ref.offset
        let dataEnd = chunk.data.baseAddress.map { $0 - bytes.baseAddress! } .map { $0 + chunk.data.count } ?? start
        let stored = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: dataEnd, as: UInt32.self))
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[start..<dataEnd]))
        guard stored != actual else { return nil }
        return .damaged(offset: start, torn: false, reason: "checksum mismatch in the chunk at offset \(start): stored 0x\(String(stored, radix: 16)), computed 0x\(String(actual, radix: 16))")
    }
}
