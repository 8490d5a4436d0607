/// Where a chunk of a persisted block is: the segment's position in the block's `chunks/`
/// directory (0 for `000001`) in the upper 32 bits, the byte offset of the chunk's length
/// field in that segment in the lower 32 bits. Prometheus's `BlockChunkRef`; the index
/// stores it with each chunk of a series (FORMAT.md, "Block chunk segments").
///
/// The segment part is a position, not the number in the file name: Prometheus's writer uses
/// `len(files) - 1` and its reader indexes the sorted list of segment files.
package struct ChunkRef: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    package let rawValue: UInt64

    package init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Traps unless both values fit in 32 bits; callers pass values they produced themselves.
    package init(segment: Int, offset: Int) {
        rawValue = UInt64(UInt32(segment)) << 32 | UInt64(UInt32(offset))
    }

    /// Position of the segment file among the block's segments, from 0.
    package var segment: Int { Int(rawValue >> 32) }
    /// Byte offset of the chunk in its segment file.
    package var offset: Int { Int(rawValue & 0xFFFF_FFFF) }

    package static func < (a: ChunkRef, b: ChunkRef) -> Bool { a.rawValue < b.rawValue }

    package var description: String { "segment \(segment) offset \(offset)" }
}

/// Constants and naming of block chunk segment files, shared by ``ChunkSegmentWriter`` and
/// ``ChunkSegmentReader``. Prometheus `tsdb/chunks/chunks.go`.
package enum ChunkSegmentFormat {
    /// First 4 bytes of every segment, big-endian.
    static let magic: UInt32 = 0x85BD_40DD
    static let version: UInt8 = 1
    /// Magic, version and 3 zero bytes of padding.
    package static let headerSize = 8
    /// Prometheus reads the length field from at most 5 bytes (`binary.MaxVarintLen32`) and
    /// budgets 5 bytes for it when deciding where to cut segments.
    static let maxLengthFieldSize = 5
    static let crcSize = 4
    /// Prometheus's `DefaultChunkSegmentSize`, 512 MiB.
    static let defaultSegmentSize = 512 * 1024 * 1024

    /// The bytes Prometheus's `WriteChunks` counts for a chunk of `dataCount` bytes: a 5-byte
    /// length (whatever its real size), the encoding byte, the data and the CRC.
    static func budget(dataCount: Int) -> Int {
        maxLengthFieldSize + 1 + dataCount + crcSize
    }

    /// The file name of the segment at `index` (0-based): `000001` for 0, at least 6 digits.
    package static func segmentName(_ index: Int) -> String {
        let digits = String(index + 1)
        return digits.count >= 6 ? digits : String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// Whether Prometheus counts `name` as a segment: Go's `strconv.ParseUint(name, 10, 64)`
    /// succeeds, so it is non-empty, all ASCII digits and at most `UInt64.max`.
    static func isSegmentName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && UInt64(name) != nil
    }

    /// The segment file names in `directory`, in the order that gives them their index: by
    /// name, byte-wise, as Go's `os.ReadDir` returns them. Throws `.notFound` for a missing
    /// directory.
    package static func segmentNames(in directory: String, sys: Syscalls) throws(TSDBError) -> [String] {
        guard let names = try FileSystem.list(directory, sys: sys) else {
            throw TSDBError(.notFound, "no chunk directory \(directory)", location: .init(file: directory))
        }
        return names.filter(isSegmentName).sorted { Array($0.utf8).lexicographicallyPrecedes($1.utf8) }
    }
}
