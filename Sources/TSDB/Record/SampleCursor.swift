/// Walks the samples of a samples record through a pointer: the replay's hot loop. Same
/// layout and checks as ``RecordDecoder/samples(_:into:file:offset:)``; damaged bytes throw
/// ``TSDBError/Code/corruption`` with the absolute offset. Valid while `record` is.
struct SampleCursor {
    private let base: UnsafeRawPointer?
    private let end: Int
    private var at = 17
    private var firstRef: UInt64 = 0
    private var firstTime: Int64 = 0
    private let file: String?
    private let offset: Int

    init(_ record: UnsafeRawBufferPointer, file: String? = nil, offset: Int = 0) throws(TSDBError) {
        self.file = file
        self.offset = offset
        guard let base = record.baseAddress, record.count > 0, record[0] == RecordType.samples.rawValue else {
            throw .corruption("samples record type 2", file: file, offset: offset)
        }
        self.base = base
        end = record.count
        if end == 1 { return }
        guard end >= 17 else { throw .corruption("16 bytes of first reference and timestamp", file: file, offset: offset + 1) }
        firstRef = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
        firstTime = Int64(bitPattern: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 9, as: UInt64.self)))
    }

    @inline(__always)
    mutating func next() throws(TSDBError) -> RefSample? {
        guard at < end, let base else { return nil }
        let start = at
        guard let dRef = Self.readVarint(base, end, &at), let dTime = Self.readVarint(base, end, &at), at + 8 <= end else {
            throw .corruption("a sample (two varints and 8 value bytes)", file: file, offset: offset + start)
        }
        let bits = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        at += 8
        return RefSample(ref: firstRef &+ UInt64(bitPattern: dRef), timestamp: firstTime &+ dTime, value: Double(bitPattern: bits))
    }

    /// A zig-zag varint at `at`, or nil if it runs past `end` or over 10 bytes.
    @inline(__always)
    private static func readVarint(_ base: UnsafeRawPointer, _ end: Int, _ at: inout Int) -> Int64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = at
        while i < end {
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            i += 1
            if b < 0x80 {
                if shift == 63 && b > 1 { return nil }
                result |= UInt64(b) << shift
                at = i
                return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
            }
            result |= UInt64(b & 0x7f) << shift
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }
}
