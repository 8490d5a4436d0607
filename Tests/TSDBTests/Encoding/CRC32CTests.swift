import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct CRC32CTests {
    @Test func standardCheckValue() {
        let input = Array("123456789".utf8)
        #expect(CRC32C.checksum(input) == 0xE306_9283)
        #expect(CRC32C.checksumPortable(input) == 0xE306_9283)
    }

    @Test func emptyInputIsZero() {
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func hardwareAndPortableAgreeOnRandomData() {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<200 {
            let n = Int(rng.next() % 3000)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(CRC32C.checksum(bytes) == CRC32C.checksumPortable(bytes), "seed \(rng.seed), length \(n)")
        }
    }

    @Test func updateIsIncremental() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        let whole = CRC32C.checksum(bytes)
        for split in 0...bytes.count {
            let first = bytes[..<split].withUnsafeBytes { CRC32C.update(0, $0) }
            let both = bytes[split...].withUnsafeBytes { CRC32C.update(first, $0) }
            #expect(both == whole)
        }
    }
}
