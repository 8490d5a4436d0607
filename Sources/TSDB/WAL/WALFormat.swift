/// How WAL records are compressed.
public enum WALCompression: Sendable, Hashable {
    /// Uncompressed records.
    case none
    /// Snappy block format, as Prometheus writes with `--storage.tsdb.wal-compression`.
    case snappy
    /// LZ4 block format: this engine's extension (flag 0x20). Prometheus cannot read a WAL
    /// that holds such records.
    case lz4
}

/// When the WAL forces its writes to stable storage. Either way, ``Appender/commit()``
/// returns only after the transaction reached the kernel with write(2), so it survives a
/// crash of the process.
public enum WALSyncMode: Sendable, Hashable {
    /// fsync a segment when it is full and the next one begins, as Prometheus does. After
    /// power loss, commits since the last completed segment may be lost.
    case onSegmentCut
    /// fsync before every commit returns, so a returned commit survives power loss.
    /// Concurrent commits share one fsync (group commit).
    case everyCommit
}

/// The byte layout of WAL segments (FORMAT.md §6), shared by writer, reader and repair.
package enum WALFormat {
    package static let pageSize = 32 * 1024
    package static let headerSize = 7
    static let defaultSegmentSize = 128 * 1024 * 1024

    package static let typeMask: UInt8 = 0x07
    static let snappyFlag: UInt8 = 0x08
    /// Prometheus ≥ 2.51 with `--storage.tsdb.wal-compression-type=zstd`; not readable here.
    static let zstdFlag: UInt8 = 0x10
    /// This engine's LZ4 records; Prometheus cannot read them.
    static let lz4Flag: UInt8 = 0x20
    static let knownFlags: UInt8 = typeMask | snappyFlag | zstdFlag | lz4Flag

    /// Fragment types in the low 3 bits of a record header.
    package static let padding: UInt8 = 0
    static let full: UInt8 = 1
    static let first: UInt8 = 2
    static let middle: UInt8 = 3
    static let last: UInt8 = 4

    /// `00000042`: eight decimal digits, as Prometheus names segments.
    package static func segmentName(_ index: Int) -> String {
        let digits = String(index)
        return digits.count >= 8 ? digits : String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The segment indexes in `directory`, ascending. Names that are not all digits are
    /// ignored; a gap in the sequence is an error, as in Prometheus.
    package static func segments(in directory: String, sys: Syscalls) throws(TSDBError) -> [Int] {
        guard let names = try FileSystem.list(directory, sys: sys) else { return [] }
        let indexes = names.compactMap { name -> Int? in
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return Int(name)
        }.sorted()
        for (a, b) in zip(indexes, indexes.dropFirst()) where b != a + 1 {
            throw TSDBError(.corruption, "WAL segments are not sequential: \(segmentName(a)) is followed by \(segmentName(b)); segment \(segmentName(a + 1)) is missing",
                            location: .init(file: directory + "/" + segmentName(a + 1)))
        }
        return indexes
    }

    /// Latest `checkpoint.NNNNNNNN` directory in `directory` (ignoring `.tmp` ones), if any.
    package static func latestCheckpoint(in directory: String, sys: Syscalls) throws(TSDBError) -> (name: String, index: Int)? {
        guard let names = try FileSystem.list(directory, sys: sys) else { return nil }
        var best: (String, Int)?
        for name in names where name.hasPrefix("checkpoint.") {
            let digits = name.dropFirst("checkpoint.".count)
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let i = Int(digits) else { continue }
            if best == nil || i > best!.1 { best = (name, i) }
        }
        return best
    }

    static func checkpointName(_ index: Int) -> String { "checkpoint." + segmentName(index) }
}
