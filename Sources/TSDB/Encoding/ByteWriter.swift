/// Appends encoded values to a growable byte buffer. `write…` appends, `set…` overwrites.
package struct ByteWriter {
    package var bytes: [UInt8]

    package init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    mutating func writeByte(_ b: UInt8) { bytes.append(b) }

    mutating func writeBytes(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }

    mutating func writeBigEndian<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func setBigEndian<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        withUnsafeBytes(of: v.bigEndian) { raw in
            for (i, b) in raw.enumerated() { bytes[offset + i] = b }
        }
    }

    /// Writes an unsigned LEB128 varint, as Go's `binary.PutUvarint` does.
    mutating func writeUvarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Writes a zig-zag signed varint, as Go's `binary.PutVarint` does.
    mutating func writeVarint(_ value: Int64) {
        writeUvarint(Varint.zigzag(value))
    }

    mutating func writeLengthPrefixedString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            writeUvarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
}

enum Varint {
    @inline(__always)
    static func zigzag(_ v: Int64) -> UInt64 {
        UInt64(bitPattern: (v << 1) ^ (v >> 63))
    }

    /// Number of bytes `ByteWriter.writeUvarint` uses for `v`.
    static func uvarintSize(_ v: UInt64) -> Int {
        (64 - v.leadingZeroBitCount + 6) / 7 + (v == 0 ? 1 : 0)
    }
}
