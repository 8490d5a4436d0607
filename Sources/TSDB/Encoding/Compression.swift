import CLZ4
import CSnappy

/// Snappy block format (not the framed format), as Prometheus's WAL and remote protocols use it.
package enum Snappy {
    package static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { src in
            var outLen = snappy_max_compressed_length(src.count)
            var out = [UInt8](repeating: 0, count: outLen)
            let status = out.withUnsafeMutableBytes { dst in
                snappy_compress(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
                    dst.baseAddress?.assumingMemoryBound(to: CChar.self), &outLen)
            }
            // snappy_compress only fails for a too-small output buffer, which max_compressed_length rules out.
            precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of max_compressed_length")
            out.removeSubrange(outLen...)
            return out
        }
    }

    /// The most bytes `compressed` bytes of a valid snappy block can stand for. The block's
    /// length header is untrusted and is checked against this before anything is allocated:
    /// no snappy element expands more than 64 bytes from 3 (a copy with a 2-byte offset).
    @inline(__always)
    static func maxUncompressedLength(compressed: Int) -> Int { compressed &* 22 }

    /// The length a snappy block declares for its decompressed bytes (its varint header);
    /// nil if the header is malformed. Untrusted until the block has been decompressed.
    package static func declaredLength(_ src: UnsafeRawBufferPointer) -> Int? {
        var length = 0
        guard snappy_uncompressed_length(src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count, &length) == SNAPPY_OK
        else { return nil }
        return length
    }

    /// Decompresses a snappy block in memory someone else owns; nil if it is malformed.
    package static func decompress(_ src: UnsafeRawBufferPointer) -> [UInt8]? {
        let csrc = src.baseAddress?.assumingMemoryBound(to: CChar.self)
        var length = 0
        guard snappy_uncompressed_length(csrc, src.count, &length) == SNAPPY_OK,
              length <= maxUncompressedLength(compressed: src.count) else { return nil }
        var ok = false
        let out = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            var written = length
            ok = snappy_uncompress(csrc, src.count, UnsafeMutableRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self), &written) == SNAPPY_OK
                && written == length
            count = ok ? length : 0
        }
        return ok ? out : nil
    }

    /// Decompresses a snappy block into `buffer` (grown as needed) and returns the bytes
    /// written, valid until the buffer is used again; nil if the block is malformed.
    static func decompress(_ src: UnsafeRawBufferPointer, into buffer: GrowableBuffer) -> UnsafeRawBufferPointer? {
        guard let base = src.baseAddress else { return nil }
        let csrc = base.assumingMemoryBound(to: CChar.self)
        var length = 0
        guard snappy_uncompressed_length(csrc, src.count, &length) == SNAPPY_OK, length <= Int(Int32.max),
              length <= maxUncompressedLength(compressed: src.count) else { return nil }
        let out = buffer.reserve(length)
        var written = length
        guard snappy_uncompress(csrc, src.count, out.assumingMemoryBound(to: CChar.self), &written) == SNAPPY_OK,
              written == length else { return nil }
        return UnsafeRawBufferPointer(start: out, count: length)
    }

    /// Decompresses a snappy block; malformed input is a corruption error, never a crash.
    static func decompress(_ input: [UInt8]) throws(TSDBError) -> [UInt8] {
        let result: [UInt8]? = input.withUnsafeBytes { src in
            let csrc = src.baseAddress?.assumingMemoryBound(to: CChar.self)
            var length = 0
            guard snappy_uncompressed_length(csrc, src.count, &length) == SNAPPY_OK,
                  length <= maxUncompressedLength(compressed: src.count),
                  snappy_validate_compressed_buffer(csrc, src.count) == SNAPPY_OK
            else { return nil }
            var out = [UInt8](repeating: 0, count: length)
            let status = out.withUnsafeMutableBytes { dst in
                snappy_uncompress(csrc, src.count, dst.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
            guard status == SNAPPY_OK else { return nil }
            out.removeSubrange(length...)
            return out
        }
        guard let result else { throw .corruption("valid snappy block") }
        return result
    }
}

/// LZ4 block format. The decompressed size is not stored in an LZ4 block, so callers pass it.
enum LZ4 {
    static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { src in
            let bound = Int(LZ4_compressBound(Int32(src.count)))
            var out = [UInt8](repeating: 0, count: bound)
            let n = out.withUnsafeMutableBytes { dst in
                LZ4_compress_default(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self),
                    dst.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(src.count), Int32(bound))
            }
            precondition(n > 0, "LZ4_compress_default failed with a buffer of LZ4_compressBound")
            out.removeSubrange(Int(n)...)
            return out
        }
    }

    /// The most bytes `compressed` bytes of a valid LZ4 block can stand for: a match costs
    /// at least one byte per 255 bytes it copies. The stored size is untrusted and is checked
    /// against this before anything is allocated.
    @inline(__always)
    static func maxDecompressedSize(compressed: Int) -> Int { compressed &* 255 &+ 64 }

    /// Decompresses an LZ4 block of exactly `decompressedSize` bytes into `buffer` (grown as
    /// needed) and returns them, valid until the buffer is used again; nil if malformed.
    static func decompress(_ src: UnsafeRawBufferPointer, decompressedSize: Int, into buffer: GrowableBuffer) -> UnsafeRawBufferPointer? {
        guard decompressedSize >= 0, decompressedSize <= Int(Int32.max), src.count <= Int(Int32.max),
              decompressedSize <= maxDecompressedSize(compressed: src.count) else { return nil }
        let out = buffer.reserve(Swift.max(decompressedSize, 1))
        let n = LZ4_decompress_safe(src.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    out.assumingMemoryBound(to: CChar.self), Int32(src.count), Int32(decompressedSize))
        guard n == Int32(decompressedSize) else { return nil }
        return UnsafeRawBufferPointer(start: out, count: decompressedSize)
    }

    static func decompress(_ input: [UInt8], decompressedSize: Int) throws(TSDBError) -> [UInt8] {
        guard decompressedSize >= 0, decompressedSize <= Int(Int32.max) else {
            throw .corruption("LZ4 decompressed size in 0...\(Int32.max), got \(decompressedSize)")
        }
        guard decompressedSize <= maxDecompressedSize(compressed: input.count) else {
            throw .corruption("LZ4 decompressed size of at most \(maxDecompressedSize(compressed: input.count)) bytes for \(input.count) compressed bytes, got \(decompressedSize)")
        }
        var out = [UInt8](repeating: 0, count: decompressedSize)
        let n = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                LZ4_decompress_safe(
                    src.baseAddress?.assumingMemoryBound(to: CChar.self),
                    dst.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(src.count), Int32(decompressedSize))
            }
        }
        guard n == Int32(decompressedSize) else {
            throw .corruption("valid LZ4 block of \(decompressedSize) bytes")
        }
        return out
    }
}
