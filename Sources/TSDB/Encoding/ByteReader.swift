/// A bounds-checked cursor over bytes that came from outside (disk, network, a fixture).
///
/// Every read that runs out of bytes, or meets a malformed varint, throws a
/// ``TSDBError/Code/corruption`` error naming the file and the absolute offset. Nothing in
/// here traps, whatever the input. `read…` consumes; `get…` is random access.
package struct ByteReader<Bytes: RandomAccessCollection<UInt8>> where Bytes.Index == Int {
    let bytes: Bytes
    /// Offset of the next byte to read, relative to the start of `bytes`.
    package private(set) var offset: Int = 0
    /// Used only to build error messages: the file name and the offset of `bytes[0]` in it.
    let file: String?
    let baseOffset: Int

    package init(_ bytes: Bytes, file: String? = nil, baseOffset: Int = 0) {
        self.bytes = bytes
        self.file = file
        self.baseOffset = baseOffset
    }

    package var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    func error(_ what: String, at position: Int? = nil) -> TSDBError {
        .corruption(what, file: file, offset: baseOffset + (position ?? offset))
    }

    @inline(__always)
    private func byte(at i: Int) -> UInt8 {
        bytes[bytes.startIndex + i]
    }

    mutating func skip(_ n: Int) throws(TSDBError) {
        guard n >= 0, n <= remaining else { throw error("expected \(n) more bytes, found \(remaining)") }
        offset += n
    }

    mutating func readByte() throws(TSDBError) -> UInt8 {
        guard offset < bytes.count else { throw error("expected 1 more byte, found end of data") }
        defer { offset += 1 }
        return byte(at: offset)
    }

    mutating func readBigEndian<T: FixedWidthInteger & UnsignedInteger>(_: T.Type = T.self) throws(TSDBError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw error("expected \(size)-byte integer, found \(remaining) bytes") }
        var v: T = 0
        for i in 0..<size { v = (v << 8) | T(byte(at: offset + i)) }
        offset += size
        return v
    }

    /// Reads an unsigned LEB128 varint, as Go's `binary.Uvarint` does (at most 10 bytes).
    package mutating func readUvarint() throws(TSDBError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for i in 0..<10 {
            guard offset < bytes.count else { throw error("truncated uvarint", at: start) }
            let b = byte(at: offset)
            offset += 1
            if b < 0x80 {
                if i == 9 && b > 1 { throw error("uvarint overflows 64 bits", at: start) }
                return result | UInt64(b) << shift
            }
            result |= UInt64(b & 0x7f) << shift
            shift += 7
        }
        throw error("uvarint overflows 64 bits", at: start)
    }

    /// Reads a zig-zag signed varint, as Go's `binary.Varint` does.
    mutating func readVarint() throws(TSDBError) -> Int64 {
        let u = try readUvarint()
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    /// Reads `count` bytes and returns them as a copy.
    mutating func readBytes(_ count: Int) throws(TSDBError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw error("expected \(count) bytes, found \(remaining)")
        }
        let start = bytes.startIndex + offset
        offset += count
        return Array(bytes[start..<(start + count)])
    }

    /// Reads a uvarint length and then that many bytes as UTF-8.
    mutating func readLengthPrefixedString() throws(TSDBError) -> String {
        let at = offset
        let n = try readUvarint()
        guard n <= UInt64(remaining) else { throw error("string of \(n) bytes runs past the end", at: at) }
        let raw = try readBytes(Int(n))
        guard let s = String(validating: raw, as: UTF8.self) else { throw error("string is not valid UTF-8", at: at) }
        return s
    }
}
