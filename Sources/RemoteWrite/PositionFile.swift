import TSDB

/// `<db>/remote-write/<endpoint>.position`: the WAL position up to which the receiver
/// acknowledged everything (FORMAT.md, "Remote-write positions"). 25 bytes:
///
///     magic "RWPS" <4> │ version <1> = 1 │ segment <8 BE> │ offset <8 BE> │ CRC-32C of the 21 bytes before <4 BE>
///
/// Replaced crash-safely through the engine's ``FileSystem/replaceFile(_:with:sys:)``
/// (temporary file, fsync, rename, fsync of the directory), so a crash leaves the old
/// position or the new one, never a mix.
enum PositionFile {
    static let magic: [UInt8] = Array("RWPS".utf8)
    static let version: UInt8 = 1
    static let size = 25

    static func directory(db: String) -> String { db + "/remote-write" }
    static func path(db: String, endpoint: String) -> String { directory(db: db) + "/" + endpoint + ".position" }

    static func encode(_ position: WALPosition) -> [UInt8] {
        var out = magic
        out.append(version)
        appendBigEndian(UInt64(position.segment), to: &out)
        appendBigEndian(UInt64(position.offset), to: &out)
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        return out
    }

    /// The position in `bytes`; throws a corruption error naming `path` for anything else.
    static func decode(_ bytes: [UInt8], path: String) throws(TSDBError) -> WALPosition {
        func bad(_ what: String) -> TSDBError {
            TSDBError(.corruption, "remote-write position file \(path): \(what)", location: .init(file: path))
        }
        guard bytes.count == size else { throw bad("expected \(size) bytes, found \(bytes.count)") }
        guard Array(bytes[0..<4]) == magic else { throw bad("bad magic number") }
        guard bytes[4] == version else { throw bad("unknown version \(bytes[4])") }
        let stored = bytes[21..<25].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let computed = bytes[0..<21].withUnsafeBytes { CRC32C.checksum($0) }
        guard stored == computed else { throw bad("checksum mismatch") }
        let segment = bytes[5..<13].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let offset = bytes[13..<21].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard segment <= UInt64(Int32.max), offset <= UInt64(Int32.max) else { throw bad("segment \(segment) or offset \(offset) out of range") }
        return WALPosition(segment: Int(segment), offset: Int(offset))
    }

    /// The saved position, or nil when there is none.
    static func load(db: String, endpoint: String, sys: Syscalls) throws(TSDBError) -> WALPosition? {
        let p = path(db: db, endpoint: endpoint)
        guard FileSystem.size(p, sys: sys) != nil else { return nil }
        return try decode(try WALRecovery.readFile(p, sys: sys), path: p)
    }

    static func save(_ position: WALPosition, db: String, endpoint: String, sys: Syscalls) throws(TSDBError) {
        try FileSystem.createDirectory(directory(db: db), sys: sys)
        try FileSystem.replaceFile(path(db: db, endpoint: endpoint), with: encode(position), sys: sys)
    }

    private static func appendBigEndian(_ v: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }
}
