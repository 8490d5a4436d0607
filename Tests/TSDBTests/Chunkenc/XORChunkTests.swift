import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

@Suite(.heavy) struct XORChunkTests {
    static let vectors: [ChunkVector] = (try? ChunkVector.load().chunks) ?? []

    @Test func vectorsArePresent() {
        #expect(Self.vectors.count >= 40)
    }

    @Test(arguments: vectors)
    func decodesPromtoolChunks(_ v: ChunkVector) throws {
        let decoded = try XORChunk(bytes: v.bytes).decodeAll()
        #expect(decoded.count == v.samples.count)
        for (s, (t, bits)) in zip(decoded, v.samples) {
            #expect(s.timestamp == t)
            #expect(s.value.bitPattern == bits)
        }
    }

    @Test(arguments: vectors)
    func encodesIdenticalBytes(_ v: ChunkVector) {
        let chunk = XORChunk(encoding: v.samples.map { Sample(timestamp: $0.0, value: Double(bitPattern: $0.1)) })
        #expect(hexString(chunk.bytes) == hexString(v.bytes))
    }

    @Test func singleSampleChunkCarriesGosEmptyTailByte() {
        // 2 count bytes, varint t, 8 value bytes, and the empty byte Go's bstream leaves.
        let chunk = XORChunk(encoding: [Sample(timestamp: 1000, value: 1)])
        #expect(chunk.bytes.count == 2 + 2 + 8 + 1)
        #expect(chunk.bytes.last == 0)
    }

    @Test func specialValuesRoundTripBitExact() throws {
        var samples: [Sample] = []
        for (i, v) in InterestingValues.all.enumerated() {
            samples.append(Sample(timestamp: Int64(i) * 15_000, value: v))
        }
        let decoded = try XORChunk(encoding: samples).decodeAll()
        #expect(decoded == samples)
        #expect(decoded.contains { $0.value.bitPattern == 0x7ff0_0000_0000_0002 })
        #expect(decoded.contains { $0.value.bitPattern == (-0.0).bitPattern })
    }

    @Test func randomRoundTrips() throws {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<500 {
            let samples = XORBatchDecoderTests.randomSamples(&rng)
            let chunk = XORChunk(encoding: samples)
            #expect(chunk.count == samples.count)
            #expect(try chunk.decodeAll() == samples, "seed \(rng.seed)")
        }
    }

    @Test func encoderByteCountMatchesOutput() {
        var rng = SeededRandom.fromEnvironment()
        var e = XOREncoder()
        var t: Int64 = 0
        for _ in 0..<200 {
            t += 1 + Int64(rng.next() % 60_000)
            e.append(timestamp: t, value: InterestingValues.random(using: &rng))
            #expect(e.byteCount == e.encoded().count)
        }
    }

    @Test func seekMovesForwardOnly() throws {
        let samples = (0..<100).map { Sample(timestamp: Int64($0) * 10, value: Double($0)) }
        var it = XORChunk(encoding: samples).makeIterator()
        #expect(it.seek(to: 55)?.timestamp == 60)
        #expect(it.seek(to: 10)?.timestamp == 60)   // never backwards
        #expect(it.next()?.timestamp == 70)
        #expect(it.seek(to: 990)?.timestamp == 990)
        #expect(it.seek(to: 991) == nil)
    }

    @Test func damagedChunksNeverTrap() {
        var rng = SeededRandom.fromEnvironment()
        let good = XORChunk(encoding: (0..<120).map { Sample(timestamp: Int64($0) * 15_000 + Int64($0 % 7), value: Double($0) * 1.5) }).bytes
        for _ in 0..<3000 {
            var bad = good
            switch rng.next() % 3 {
            case 0: bad[Int(rng.next() % UInt64(bad.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            case 1: bad = Array(bad.prefix(Int(rng.next() % UInt64(bad.count))))
            default: bad = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            var it = XORChunk(bytes: bad).makeIterator()
            var n = 0
            while it.next() != nil { n += 1 }
            #expect(n <= 65535)
        }
        // A truncated chunk reports corruption.
        var it = XORChunk(bytes: Array(good.prefix(40))).makeIterator()
        while it.next() != nil {}
        #expect(it.error?.code == .corruption)
    }
}
