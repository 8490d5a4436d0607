import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct XXHash64Tests {
    @Test func referenceVectors() {
        // From the xxHash reference implementation, seed 0.
        #expect(XXHash64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXHash64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
    }

    @Test func streamingEqualsOneShot() {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<300 {
            let bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var h = XXHash64()
            var i = 0
            while i < bytes.count {
                let n = min(Int(rng.next() % 40), bytes.count - i)
                bytes[i..<(i + n)].withUnsafeBytes { h.update($0) }
                i += n
            }
            #expect(h.finalize() == XXHash64.hash(bytes), "seed \(rng.seed)")
        }
    }
}
