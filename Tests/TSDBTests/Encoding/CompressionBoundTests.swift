import Testing
import TSDBTestSupport

@testable import TSDB

/// A decompressed length read from disk is untrusted: one that the compressed bytes cannot
/// stand for is refused before anything is allocated (issue 11: a length field of 2^60, or
/// here 1 GiB, must not allocate it).
@Suite(.heavy) struct CompressionBoundTests {
    /// A snappy block header claiming 1 GiB (uvarint 0x80 0x80 0x80 0x80 0x04) and 6 bytes of data.
    static let hugeSnappy: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x61, 0x00, 0x61, 0x00, 0x61]

    @Test func snappyLengthBeyondTheExpansionBoundIsRefused() {
        #expect(throws: TSDBError.self) { try Snappy.decompress(Self.hugeSnappy) }
        let out = Self.hugeSnappy.withUnsafeBytes { Snappy.decompress($0) }
        #expect(out == nil)
        let buffer = GrowableBuffer()
        let intoBuffer = Self.hugeSnappy.withUnsafeBytes { Snappy.decompress($0, into: buffer) }
        #expect(intoBuffer == nil)
    }

    @Test func lz4SizeBeyondTheExpansionBoundIsRefused() {
        let block = LZ4.compress(Array(repeating: 7, count: 100))
        #expect(throws: TSDBError.self) { try LZ4.decompress(block, decompressedSize: 1 << 30) }
        let buffer = GrowableBuffer()
        let out = block.withUnsafeBytes { LZ4.decompress($0, decompressedSize: 1 << 30, into: buffer) }
        #expect(out == nil)
        // The real size still decodes.
        #expect((try? LZ4.decompress(block, decompressedSize: 100)) == Array(repeating: 7, count: 100))
    }

    /// The bounds hold for the most compressible input there is.
    @Test func zerosStillDecompress() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        #expect(try Snappy.decompress(Snappy.compress(zeros)) == zeros)
        #expect(try LZ4.decompress(LZ4.compress(zeros), decompressedSize: zeros.count) == zeros)
    }
}
