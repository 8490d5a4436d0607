import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The batch decoder against the iterator, the model: the same samples in any time range,
/// and on damaged bytes the same samples before the same kind of failure.
@Suite(.heavy) struct XORBatchDecoderTests {
    static func iterate(_ bytes: [UInt8], minTime: Int64, maxTime: Int64) -> (samples: [Sample], failed: Bool) {
        var it = XORChunk(bytes: bytes).makeIterator()
        var out: [Sample] = []
        while let s = it.next() {
            if s.timestamp > maxTime { return (out, false) }
            if s.timestamp >= minTime { out.append(s) }
        }
        return (out, it.error != nil)
    }

    static func batch(_ bytes: [UInt8], minTime: Int64, maxTime: Int64) -> (samples: [Sample], failed: Bool) {
        var out: [Sample] = []
        do { _ = try XORBatchDecoder.decode(bytes, minTime: minTime, maxTime: maxTime, into: &out) } catch {
            #expect(error.code == .corruption)
            return (out, true)
        }
        return (out, false)
    }

    static func randomSamples(_ rng: inout SeededRandom) -> [Sample] {
        let n = 1 + Int(rng.next() % 240)
        var t = Int64(bitPattern: rng.next()) >> 20
        var samples: [Sample] = []
        for _ in 0..<n {
            samples.append(Sample(timestamp: t, value: InterestingValues.random(using: &rng)))
            switch rng.next() % 5 {
            case 0: t += 15_000
            case 1: t += Int64(rng.next() % 100)
            case 2: t += Int64(rng.next() % 10_000_000)
            case 3: t += 15_000 + Int64(rng.next() % 3) - 1
            default: t += Int64(rng.next() % (1 << 40))
            }
        }
        return samples
    }

    @Test func sameSamplesAsTheIteratorInAnyRange() {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<2000 {
            let samples = Self.randomSamples(&rng)
            let bytes = XORChunk(encoding: samples).bytes
            let first = samples.first!.timestamp, last = samples.last!.timestamp
            let span = UInt64(max(1, last - first))
            let lo = rng.next() % 3 == 0 ? Int64.min : first + Int64(rng.next() % span)
            let hi = rng.next() % 3 == 0 ? Int64.max : lo == .min ? first + Int64(rng.next() % span) : lo + Int64(rng.next() % span)
            let a = Self.batch(bytes, minTime: lo, maxTime: hi), b = Self.iterate(bytes, minTime: lo, maxTime: hi)
            #expect(!a.failed && !b.failed)
            #expect(a.samples == b.samples, "seed \(rng.seed)")
            if lo == .min && hi == .max { #expect(a.samples == samples, "seed \(rng.seed)") }
        }
    }

    @Test func damagedBytesFailAsTheIteratorDoes() {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<5000 {
            var bad = XORChunk(encoding: Self.randomSamples(&rng)).bytes
            switch rng.next() % 4 {
            case 0: bad[Int(rng.next() % UInt64(bad.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            case 1: bad = Array(bad.prefix(Int(rng.next() % UInt64(bad.count))))
            case 2: bad[0...1] = [UInt8(truncatingIfNeeded: rng.next()), UInt8(truncatingIfNeeded: rng.next())]
            default: bad = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            let a = Self.batch(bad, minTime: .min, maxTime: .max), b = Self.iterate(bad, minTime: .min, maxTime: .max)
            #expect(a.failed == b.failed, "seed \(rng.seed)")
            #expect(a.samples == b.samples, "seed \(rng.seed)")
        }
    }
}
