/// Checks and reassembles the fragments of the records in one WAL segment's bytes
/// (FORMAT.md §6): page padding, header byte, length, page boundary, checksum, fragment
/// order and compression flags. The one place these rules are written: the sequential
/// ``SegmentReader``, its torn-tail search and the parallel ``ReplayDecoder`` use it.
///
/// Never traps on any bytes. Allocates nothing; valid while `bytes` is.
struct WALFragmentParser {
    let bytes: UnsafeRawBufferPointer

    /// A fragment whose header is one a writer produces and whose checksum matches.
    struct Fragment {
        /// Offset of its header.
        var start: Int
        /// Its header byte: fragment type and compression flags.
        var header: UInt8
        /// Its data, after the header.
        var data: Range<Int>
        var type: UInt8 { header & WALFormat.typeMask }
        var flags: UInt8 { header & ~WALFormat.typeMask }
        /// Where the next fragment (or padding) begins.
        var end: Int { data.upperBound }
    }

    /// What was read at an offset by ``readRecord(at:into:)``.
    enum Item {
        /// A run of page padding, before any fragment.
        case padding
        /// A whole record: its first fragment's offset and header flags, and the data of
        /// its only fragment if it is a `full` one (else the sink got the fragments' data).
        case record(start: Int, flags: UInt8, full: Range<Int>?)
    }

    /// The fragment's length field. No checks: the caller knows a header fits.
    @inline(__always)
    func length(at: Int) -> Int {
        Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
    }

    /// The fragment whose header is at `at` (not page padding), checked in the order the
    /// damage is reported: header byte, header within the segment, fragment within its
    /// page, fragment within the segment, checksum.
    @inline(__always)
    func fragment(at: Int) throws(WALFragmentDamage.Problem) -> Fragment {
        let header = bytes[at]
        let type = header & WALFormat.typeMask
        guard header & ~WALFormat.knownFlags == 0, type <= WALFormat.last, type != WALFormat.padding else {
            throw .invalidHeader(header)
        }
        guard at + WALFormat.headerSize <= bytes.count else { throw .endsInHeader }
        let length = length(at: at)
        let dataStart = at + WALFormat.headerSize
        guard at % WALFormat.pageSize + WALFormat.headerSize + length <= WALFormat.pageSize else {
            throw .crossesPage(length: length)
        }
        guard dataStart + length <= bytes.count else { throw .endsInFragment(length: length) }
        let stored = UInt32(bytes[at + 3]) << 24 | UInt32(bytes[at + 4]) << 16 | UInt32(bytes[at + 5]) << 8 | UInt32(bytes[at + 6])
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[dataStart..<(dataStart + length)]))
        guard computed == stored else { throw .checksum(stored: stored, computed: computed) }
        return Fragment(start: at, header: header, data: dataStart..<(dataStart + length))
    }

    /// The fragment at `at` if it is one a writer produces; nil for padding, a short or
    /// impossible header, or a bad checksum.
    func checkedFragment(at: Int) -> Fragment? {
        guard at >= 0, at < bytes.count, bytes[at] & WALFormat.typeMask != WALFormat.padding else { return nil }
        return try? fragment(at: at)
    }

    /// Reads the record, or the run of page padding, that begins at `at` and moves `at`
    /// past it; nil at the end of the bytes. The data of every fragment but a lone `full`
    /// one goes to `sink`, in order. Decompresses nothing.
    @inline(__always)
    func readRecord<Sink: WALFragmentSink>(at: inout Int, into sink: inout Sink) throws(WALFragmentDamage) -> Item? {
        let count = bytes.count
        var fragments = 0
        var flags: UInt8 = 0
        var start = at
        while true {
            guard at < count else {
                if fragments == 0 { return nil }
                throw WALFragmentDamage(.endsAfterFragments, recordStart: start, at: at, fragments: fragments)
            }
            let header = bytes[at]
            let type = header & WALFormat.typeMask
            if type == WALFormat.padding {
                // Padding runs to the end of the page (or of a short segment), all zeros.
                let pageEnd = Swift.min((at / WALFormat.pageSize + 1) * WALFormat.pageSize, count)
                var i = at
                while i < pageEnd {
                    guard bytes[i] == 0 else {
                        throw WALFragmentDamage(.nonZeroPadding(at: i), recordStart: fragments == 0 ? at : start, at: at, fragments: fragments)
                    }
                    i += 1
                }
                at = pageEnd
                if fragments == 0 { return .padding }
                continue
            }
            let fragment: Fragment
            do throws(WALFragmentDamage.Problem) {
                fragment = try self.fragment(at: at)
            } catch {
                throw WALFragmentDamage(error, recordStart: fragments == 0 ? at : start, at: at, fragments: fragments)
            }
            let expected = fragments == 0 ? (type == WALFormat.full || type == WALFormat.first) : (type == WALFormat.middle || type == WALFormat.last)
            guard expected else {
                throw WALFragmentDamage(.unexpectedType(type), recordStart: fragments == 0 ? at : start, at: at, fragments: fragments)
            }
            if fragments == 0 {
                start = at
                flags = fragment.flags
            } else if fragment.flags != flags {
                throw WALFragmentDamage(.flagsDisagree, recordStart: start, at: at, fragments: fragments)
            }
            at = fragment.end
            if type == WALFormat.full { return .record(start: start, flags: flags, full: fragment.data) }
            sink.append(UnsafeRawBufferPointer(rebasing: bytes[fragment.data]))
            fragments += 1
            if type == WALFormat.last { return .record(start: start, flags: flags, full: nil) }
        }
    }
}

/// Where ``WALFragmentParser/readRecord(at:into:)`` reassembles a record's fragments.
protocol WALFragmentSink {
    mutating func append(_ data: UnsafeRawBufferPointer)
}

/// Why the bytes at some offset of a segment are not the next part of a record.
struct WALFragmentDamage: Error {
    enum Problem: Error {
        /// The segment ends after some fragments of a record.
        case endsAfterFragments
        /// A non-zero byte, at the offset given, in page padding.
        case nonZeroPadding(at: Int)
        /// A header byte no writer produces.
        case invalidHeader(UInt8)
        case endsInHeader
        case crossesPage(length: Int)
        case endsInFragment(length: Int)
        case checksum(stored: UInt32, computed: UInt32)
        /// A fragment type out of order (say a `middle` first).
        case unexpectedType(UInt8)
        /// A later fragment's compression flags differ from the first's.
        case flagsDisagree
    }
    var problem: Problem
    /// Offset of the damaged record's first fragment (or of the damage, if before any).
    var recordStart: Int
    /// Offset of the fragment or padding where the damage is.
    var at: Int
    /// Fragments of the record read before the damage.
    var fragments: Int

    init(_ problem: Problem, recordStart: Int, at: Int, fragments: Int) {
        self.problem = problem
        self.recordStart = recordStart
        self.at = at
        self.fragments = fragments
    }

    /// Whether the segment just ends there (a torn write), rather than holding bytes no
    /// writer produces.
    var isTorn: Bool {
        switch problem {
        case .endsAfterFragments, .endsInHeader, .endsInFragment: true
        default: false
        }
    }

    var reason: String {
        switch problem {
        case .endsAfterFragments:
            "the segment ends after \(fragments) fragment(s) of a record"
        case .nonZeroPadding(let bad):
            "non-zero byte at offset \(bad) in page padding"
        case .invalidHeader(let header):
            "invalid record header byte 0x\(Hex.string(header)) at offset \(at)"
        case .endsInHeader:
            "the segment ends inside a record header at offset \(at)"
        case .crossesPage(let length):
            "record fragment of \(length) bytes at offset \(at) crosses its page boundary"
        case .endsInFragment(let length):
            "the segment ends inside a record fragment of \(length) bytes at offset \(at)"
        case .checksum(let stored, let computed):
            "checksum mismatch in record fragment at offset \(at): stored 0x\(Hex.string(stored)), computed 0x\(Hex.string(computed))"
        case .unexpectedType(let type):
            "unexpected fragment type \(type) at offset \(at) after \(fragments) fragment(s)"
        case .flagsDisagree:
            "fragments of one record disagree on compression at offset \(at)"
        }
    }
}

/// Why a WAL record's payload does not decompress (FORMAT.md §6.4).
enum WALDecompressionFailure: Error {
    /// A zstd frame (Prometheus ≥ 2.51 with `--storage.tsdb.wal-compression-type=zstd`).
    case zstd
    /// The zstd flag without a zstd frame: more likely a damaged header byte, which the
    /// checksum does not cover.
    case zstdFlagWithoutFrame
    /// What a valid payload would have been.
    case malformed(String)
}

extension WALCompression {
    /// A record's payload decompressed as its header `flags` say: the payload itself if
    /// uncompressed or empty, else the bytes written to `buffer`, valid until it is used
    /// again. Allocates only to grow `buffer`.
    @inline(__always)
    static func decompress(_ payload: UnsafeRawBufferPointer, flags: UInt8, into buffer: GrowableBuffer) throws(WALDecompressionFailure) -> UnsafeRawBufferPointer {
        // Prometheus's reader returns an empty record for empty compressed data.
        if flags == 0 || payload.isEmpty { return payload }
        switch flags {
        case WALFormat.snappyFlag:
            guard let out = Snappy.decompress(payload, into: buffer) else { throw .malformed("valid snappy block") }
            return out
        case WALFormat.lz4Flag:
            // A uvarint of the decompressed size, then the LZ4 block.
            var r = ByteReader(payload)
            let size: UInt64
            do throws(TSDBError) { size = try r.readUvarint() } catch { throw .malformed(error.message) }
            guard size <= UInt64(Int32.max) else { throw .malformed("LZ4 record size \(size) within 2 GiB") }
            let block = UnsafeRawBufferPointer(rebasing: payload[r.offset...])
            let bound = LZ4.maxDecompressedSize(compressed: block.count)
            guard Int(size) <= bound else {
                throw .malformed("LZ4 decompressed size of at most \(bound) bytes for \(block.count) compressed bytes, got \(size)")
            }
            guard let out = LZ4.decompress(block, decompressedSize: Int(size), into: buffer) else {
                throw .malformed("valid LZ4 block of \(size) bytes")
            }
            return out
        case WALFormat.zstdFlag:
            // A zstd frame begins with the magic number FD2FB528 (little-endian).
            guard payload.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) else { throw .zstdFlagWithoutFrame }
            throw .zstd
        default:
            throw .malformed("one compression flag, found 0x\(Hex.string(flags))")
        }
    }
}
