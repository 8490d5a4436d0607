import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct CompressionTests {
    static func samplePayloads() -> [[UInt8]] {
        var rng = SeededRandom(seed: 7)
        let text = Array(String(repeating: "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12345.6\n", count: 600).utf8)
        let random = (0..<32768).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        return [[], [42], text, random, [UInt8](repeating: 0, count: 100_000)]
    }

    @Test(arguments: samplePayloads())
    func snappyRoundTrip(_ input: [UInt8]) throws {
        let compressed = Snappy.compress(input)
        #expect(try Snappy.decompress(compressed) == input)
    }

    @Test(arguments: samplePayloads())
    func lz4RoundTrip(_ input: [UInt8]) throws {
        let compressed = LZ4.compress(input)
        #expect(try LZ4.decompress(compressed, decompressedSize: input.count) == input)
    }

    @Test func snappyCompressesRepetitiveText() {
        let text = Self.samplePayloads()[2]
        #expect(Snappy.compress(text).count < text.count / 4)
    }

    @Test func snappyKnownBlock() throws {
        // Block format: uvarint length 5, then a literal tag (4 << 2) and "hello".
        #expect(try Snappy.decompress([0x05, 0x10] + Array("hello".utf8)) == Array("hello".utf8))
    }

    @Test func damagedInputIsAnErrorNotACrash() {
        var rng = SeededRandom.fromEnvironment()
        let good = Snappy.compress(Self.samplePayloads()[2])
        for _ in 0..<300 {
            var bad = good
            for _ in 0..<3 { bad[Int(rng.next() % UInt64(bad.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            _ = try? Snappy.decompress(bad)
            _ = try? Snappy.decompress(Array(bad.prefix(Int(rng.next() % UInt64(bad.count)))))
            _ = try? LZ4.decompress(bad, decompressedSize: 40_000)
        }
        #expect(throws: TSDBError.self) { try LZ4.decompress([0xff, 0xff], decompressedSize: 10) }
        #expect(throws: TSDBError.self) { try Snappy.decompress([0xff, 0xff, 0xff]) }
    }
}
