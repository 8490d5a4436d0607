#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block's `tombstones` file (FORMAT.md §9.3), as Prometheus's `tsdb/tombstones`
/// writes and reads it:
///
/// ```
/// magic 0x0130BA30 <4 BE> │ version 1 <1> │ { series ref <uvarint64> │ mint <varint64> │ maxt <varint64> }* │ CRC32C <4 BE>
/// ```
///
/// The CRC covers the entries only, not the magic or the version byte.
package enum TombstonesFile {
    package static let fileName = "tombstones"
    static let magic: UInt32 = 0x0130_BA30
    static let version: UInt8 = 1
    /// Magic, version and CRC: the size of a file without entries.
    static let minimumSize = 9

    /// The file's bytes. Entries go in ascending series order and, within a series, in
    /// interval order. Prometheus iterates a Go map, so its order varies from run to run;
    /// its bytes equal these whenever at most one series has tombstones.
    package static func encode(_ set: TombstoneSet) -> [UInt8] {
        var w = ByteWriter(capacity: minimumSize + set.intervalCount * 12)
        w.writeBigEndian(magic)
        w.writeByte(version)
        for (ref, intervals) in set {
            for interval in intervals {
                w.writeUvarint(ref)
                w.writeVarint(interval.minTime)
                w.writeVarint(interval.maxTime)
            }
        }
        let crc = w.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[5...])) }
        w.writeBigEndian(crc)
        return w.bytes
    }

    /// Decodes the bytes of `file`. Entries may come in any order and may overlap: each is
    /// added to the set with ``TombstoneSet/add(ref:_:)``, as Prometheus's `Decode` does.
    ///
    /// Throws `.corruption` with the offset of the damage for a file shorter than 9 bytes,
    /// a wrong magic, a CRC mismatch, a version other than 1, or a truncated or overlong
    /// varint. Checks come in Prometheus's order: size, magic, CRC, version, entries.
    package static func decode(_ bytes: [UInt8], file: String? = nil) throws(TSDBError) -> TombstoneSet {
        guard bytes.count >= minimumSize else {
            throw .corruption("tombstones file of \(bytes.count) bytes, expected at least \(minimumSize)", file: file, offset: 0)
        }
        let crcOffset = bytes.count - 4
        var r = ByteReader(bytes[0..<crcOffset], file: file)
        let magic = try r.readBigEndian(UInt32.self)
        guard magic == Self.magic else {
            throw r.error("tombstones magic 0x0130ba30, found 0x\(String(magic, radix: 16))", at: 0)
        }
        var trailer = ByteReader(bytes[crcOffset...], file: file, baseOffset: crcOffset)
        let stored = try trailer.readBigEndian(UInt32.self)
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[5..<crcOffset])) }
        guard stored == computed else {
            throw trailer.error("tombstones CRC32C 0x\(String(computed, radix: 16)) over bytes 5..<\(crcOffset), found 0x\(String(stored, radix: 16))", at: 0)
        }
        let version = try r.readByte()
        guard version == Self.version else {
            throw r.error("tombstones format version 1, found \(version)", at: 4)
        }
        var set = TombstoneSet()
        while !r.isAtEnd {
            let ref = try r.readUvarint()
            let minTime = try r.readVarint()
            let maxTime = try r.readVarint()
            set.add(ref: ref, TombstoneInterval(minTime: minTime, maxTime: maxTime))
        }
        return set
    }

    /// Reads `<blockDirectory>/tombstones`. A missing file reads as no tombstones, as in
    /// Prometheus's `ReadTombstones`. Returns the set and the file's size in bytes (0 when
    /// missing), which Prometheus counts in the block's size.
    package static func read(blockDirectory: String, sys: Syscalls) throws(TSDBError) -> (tombstones: TombstoneSet, size: Int) {
        let path = blockDirectory + "/" + fileName
        let file: OpenFile
        do {
            file = try OpenFile.open(path, flags: O_RDONLY, sys: sys)
        } catch where (error.cause as? Errno)?.code == ENOENT {
            return (TombstoneSet(), 0)
        }
        let bytes = try file.readAll()
        try file.close()
        return (try decode(bytes, file: path), bytes.count)
    }

    /// Replaces `<blockDirectory>/tombstones` crash-safely (temporary file, fsync, rename,
    /// directory fsync), as Prometheus's `WriteFile`. Writes the file even when `set` is
    /// empty. Returns the bytes written.
    @discardableResult
    static func write(_ set: TombstoneSet, blockDirectory: String, sys: Syscalls) throws(TSDBError) -> Int {
        let bytes = encode(set)
        try FileSystem.replaceFile(blockDirectory + "/" + fileName, with: bytes, sys: sys)
        return bytes.count
    }
}
