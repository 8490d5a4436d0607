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
    /// Decompressed records, before they are copied out.
    private let scratch = GrowableBuffer()

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
        let parser = WALFragmentParser(bytes: bytes)
        var record = ArraySink()
        var at = offset
        while true {
            let item: WALFragmentParser.Item?
            do throws(WALFragmentDamage) {
                item = try parser.readRecord(at: &at, into: &record)
            } catch {
                throw SegmentDamage(kind: error.isTorn ? .torn : .corrupt, offset: error.recordStart, reason: error.reason)
            }
            switch item {
            case nil:
                offset = at
                return nil
            case .padding:
                offset = at
            case .record(let start, let flags, let full)?:
                offset = at
                if let full {
                    return (try decompress(UnsafeRawBufferPointer(rebasing: bytes[full]), flags: flags, single: true, at: start), start)
                }
                if flags == 0 { return (record.bytes, start) }
                return (try record.bytes.withUnsafeBytes { raw in decompressed(raw, flags: flags, single: false, at: start) }.get(), start)
            }
        }
    }

    /// The record's payload, decompressed as ``WALCompression/decompress(_:flags:into:)``
    /// says, with the damage named for the sequential reader's reports.
    private func decompress(_ raw: UnsafeRawBufferPointer, flags: UInt8, single: Bool, at: Int) throws(SegmentDamage) -> [UInt8] {
        try decompressed(raw, flags: flags, single: single, at: at).get()
    }

    private func decompressed(_ raw: UnsafeRawBufferPointer, flags: UInt8, single: Bool, at: Int) -> Result<[UInt8], SegmentDamage> {
        let result: Result<[UInt8], WALDecompressionFailure>
        do throws(WALDecompressionFailure) {
            result = .success(Array(try WALCompression.decompress(raw, flags: flags, into: scratch)))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let record):
            return .success(record)
        case .failure(.zstdFlagWithoutFrame):
            return .failure(SegmentDamage(kind: .corrupt, offset: at, reason: "the record at offset \(at) has the zstd flag but no zstd frame"))
        case .failure(.zstd):
            return .failure(SegmentDamage(kind: .unsupported, offset: at, reason: "the record at offset \(at) is zstd-compressed (Prometheus ≥ 2.51 with --storage.tsdb.wal-compression-type=zstd), which this engine does not read; convert the WAL with Prometheus (snappy or no compression) first"))
        case .failure(.malformed(let expected)):
            // A lone fragment's snappy block has always been reported in these words.
            let what = single && flags == WALFormat.snappyFlag ? "not a valid snappy block" : expected
            return .failure(SegmentDamage(kind: .corrupt, offset: at, reason: "record at offset \(at) does not decompress: \(what)"))
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

    private func checkedFragment(at: Int) -> WALFragmentParser.Fragment? {
        WALFragmentParser(bytes: bytes).checkedFragment(at: at)
    }
}

/// Reassembles a record's fragments into an array.
private struct ArraySink: WALFragmentSink {
    var bytes: [UInt8] = []
    mutating func append(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }
}
