import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The WAL record payloads (FORMAT.md §7): exact bytes against hand-computed examples,
/// round trips, and damaged input.
@Suite(.heavy) struct RecordCodecTests {
    // MARK: Exact bytes, computed by hand from Prometheus's layout (tsdb/record/record.go)

    @Test func seriesRecordBytes() throws {
        let series = [
            RefSeries(ref: 1, labels: try Labels(["__name__": "up", "job": "a"])),
            RefSeries(ref: 0x0102_0304_0506_0708, labels: try Labels(["a": "é"])),
        ]
        var w = ByteWriter()
        RecordEncoder.series(series, into: &w)
        let expected: [UInt8] = [
            0x01,                                            // type
            0, 0, 0, 0, 0, 0, 0, 1,                          // ref, 8 bytes big-endian
            0x02,                                            // 2 labels
            0x08, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f,  // "__name__"
            0x02, 0x75, 0x70,                                // "up"
            0x03, 0x6a, 0x6f, 0x62,                          // "job"
            0x01, 0x61,                                      // "a"
            1, 2, 3, 4, 5, 6, 7, 8,                          // second ref
            0x01,                                            // 1 label
            0x01, 0x61,                                      // "a"
            0x02, 0xc3, 0xa9,                                // "é": two UTF-8 bytes
        ]
        #expect(w.bytes == expected)
        #expect(try RecordDecoder.series(expected) == series)
    }

    @Test func samplesRecordBytes() throws {
        let samples = [
            RefSample(ref: 5, timestamp: 1000, value: 1.0),
            RefSample(ref: 7, timestamp: 990, value: InterestingValues.staleNaN),
            RefSample(ref: 3, timestamp: 1300, value: 0.0),
        ]
        var w = ByteWriter()
        RecordEncoder.samples(samples, into: &w)
        let expected: [UInt8] = [
            0x02,                                            // type
            0, 0, 0, 0, 0, 0, 0, 5,                          // first ref
            0, 0, 0, 0, 0, 0, 0x03, 0xe8,                    // first timestamp 1000
            0x00, 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,        // Δref 0, Δt 0, 1.0
            0x04, 0x13, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0x02,     // Δref +2 → 4, Δt −10 → 19, stale NaN
            0x03, 0xd8, 0x04, 0, 0, 0, 0, 0, 0, 0, 0,        // Δref −2 → 3, Δt +300 → 600 (2 bytes), 0.0
        ]
        #expect(w.bytes == expected)
        var decoded: [RefSample] = []
        try RecordDecoder.samples(expected, into: &decoded)
        #expect(decoded == samples)
    }

    @Test func tombstonesRecordBytes() throws {
        let stones = [
            RefTombstone(ref: 9, minTime: -5, maxTime: 300),
            RefTombstone(ref: .max, minTime: .min, maxTime: .max),
        ]
        var w = ByteWriter()
        RecordEncoder.tombstones(stones, into: &w)
        let expected: [UInt8] = [
            0x03,
            0, 0, 0, 0, 0, 0, 0, 9,
            0x09,                                            // −5 → 9
            0xd8, 0x04,                                      // 300 → 600
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,  // Int64.min → 2⁶⁴−1
            0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,  // Int64.max → 2⁶⁴−2
        ]
        #expect(w.bytes == expected)
        #expect(try RecordDecoder.tombstones(expected) == stones)
    }

    @Test func emptyRecordsAreJustTheType() throws {
        var w = ByteWriter()
        RecordEncoder.series([RefSeries](), into: &w)
        RecordEncoder.samples([RefSample](), into: &w)
        RecordEncoder.tombstones([RefTombstone](), into: &w)
        #expect(w.bytes == [1, 2, 3])
        #expect(try RecordDecoder.series([1]).isEmpty)
        var samples: [RefSample] = []
        try RecordDecoder.samples([2], into: &samples)
        #expect(samples.isEmpty)
        #expect(try RecordDecoder.tombstones([3]).isEmpty)
    }

    @Test func decodersRejectOtherTypes() {
        for bytes: [UInt8] in [[2], [3], [0], [9, 1, 2]] {
            #expect(throws: TSDBError.self) { try RecordDecoder.series(bytes) }
        }
        var out: [RefSample] = []
        #expect(throws: TSDBError.self) { try RecordDecoder.samples([1], into: &out) }
        #expect(throws: TSDBError.self) { try RecordDecoder.tombstones([2]) }
    }

    // MARK: Round trips

    /// Label names and values, many outside ASCII. Names are not held to the classic
    /// character set on disk (Prometheus 3 allows UTF-8 names).
    static let words = ["a", "__name__", "job", "instance", "ñandú", "標籤", "emoji🙂", "Ω", "x y", "\u{0}nul", "é", "e\u{301}", "z"]

    static func randomLabels(_ rng: inout SeededRandom) -> Labels {
        var byName: [String: String] = [:]
        for _ in 0..<(1 + Int(rng.next() % 5)) {
            let name = words[Int(rng.next() % UInt64(words.count))] + (rng.next() % 3 == 0 ? "\(rng.next() % 100)" : "")
            byName[name] = words[Int(rng.next() % UInt64(words.count))] + String(rng.next() % 1000)
        }
        let sorted = byName.map { Label(name: $0.key, value: $0.value) }.sorted { compareUTF8($0.name, $1.name) < 0 }
        return Labels(uncheckedSorted: sorted)
    }

    static func randomRef(_ rng: inout SeededRandom) -> UInt64 {
        switch rng.next() % 4 {
        case 0: return rng.next()
        case 1: return rng.next() % 1000
        case 2: return [0, 1, .max, .max - 1, 1 << 63][Int(rng.next() % 5)]
        default: return 1_000_000 + rng.next() % 100
        }
    }

    static func randomTime(_ rng: inout SeededRandom) -> Int64 {
        switch rng.next() % 4 {
        case 0: return Int64(bitPattern: rng.next())
        case 1: return [Int64.min, .max, 0, -1, 1][Int(rng.next() % 5)]
        default: return 1_700_000_000_000 + Int64(rng.next() % 100_000) - 50_000
        }
    }

    /// Prometheus's `Encoder.Samples` written the plain way, to check the pointer-based
    /// encoder against.
    static func referenceSamples(_ samples: [RefSample]) -> [UInt8] {
        var out: [UInt8] = [2]
        guard let first = samples.first else { return out }
        func be(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
        func varint(_ v: Int64) {
            var u = UInt64(bitPattern: (v << 1) ^ (v >> 63))
            while u >= 0x80 { out.append(UInt8(truncatingIfNeeded: u) | 0x80); u >>= 7 }
            out.append(UInt8(u))
        }
        be(first.ref)
        be(UInt64(bitPattern: first.timestamp))
        for s in samples {
            varint(Int64(bitPattern: s.ref) &- Int64(bitPattern: first.ref))
            varint(s.timestamp &- first.timestamp)
            be(s.value.bitPattern)
        }
        return out
    }

    @Test func randomRecordsRoundTripBitExact() throws {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<300 {
            let series = (0..<Int(rng.next() % 20)).map { _ in RefSeries(ref: Self.randomRef(&rng), labels: Self.randomLabels(&rng)) }
            var w = ByteWriter()
            RecordEncoder.series(series, into: &w)
            #expect(try RecordDecoder.series(w.bytes) == series, "seed \(rng.seed)")

            let samples = (0..<Int(rng.next() % 200)).map { _ in
                RefSample(ref: Self.randomRef(&rng), timestamp: Self.randomTime(&rng), value: InterestingValues.random(using: &rng))
            }
            w = ByteWriter()
            RecordEncoder.samples(samples, into: &w)
            #expect(w.bytes == Self.referenceSamples(samples), "seed \(rng.seed)")
            var decoded: [RefSample] = [RefSample(ref: 42, timestamp: 42, value: 42)]
            try RecordDecoder.samples(w.bytes, into: &decoded)
            #expect(decoded == [RefSample(ref: 42, timestamp: 42, value: 42)] + samples, "appends; seed \(rng.seed)")

            let stones = (0..<Int(rng.next() % 20)).map { _ in
                RefTombstone(ref: Self.randomRef(&rng), minTime: Self.randomTime(&rng), maxTime: Self.randomTime(&rng))
            }
            w = ByteWriter()
            RecordEncoder.tombstones(stones, into: &w)
            #expect(try RecordDecoder.tombstones(w.bytes) == stones, "seed \(rng.seed)")
        }
    }

    @Test func nanPayloadsSurviveBitForBit() throws {
        let patterns: [UInt64] = [0x7ff0_0000_0000_0002, 0x7ff8_0000_0000_0001, 0xfff8_0000_0000_0000, 0x7ff4_dead_beef_0001, 0x8000_0000_0000_0000]
        let samples = patterns.enumerated().map { RefSample(ref: UInt64($0.offset), timestamp: Int64($0.offset), value: Double(bitPattern: $0.element)) }
        var w = ByteWriter()
        RecordEncoder.samples(samples, into: &w)
        var decoded: [RefSample] = []
        try RecordDecoder.samples(w.bytes, into: &decoded)
        #expect(decoded.map(\.value.bitPattern) == patterns)
    }

    @Test func seriesDecoderSortsAndDropsEmptyValues() throws {
        // Another writer may store labels unsorted or with empty values; the head's rules apply.
        let bytes: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0, 7, 3, 1, 0x7a, 1, 0x31, 1, 0x61, 1, 0x32, 1, 0x6d, 0]
        let decoded = try RecordDecoder.series(bytes)
        #expect(decoded == [RefSeries(ref: 7, labels: try Labels(["a": "2", "z": "1"]))])
    }

    // MARK: Damage

    static func sampleRecords() throws -> [(name: String, bytes: [UInt8])] {
        var rng = SeededRandom(seed: 11)
        var out: [(String, [UInt8])] = []
        var w = ByteWriter()
        RecordEncoder.series((0..<5).map { _ in RefSeries(ref: Self.randomRef(&rng), labels: Self.randomLabels(&rng)) }, into: &w)
        out.append(("series", w.bytes))
        w = ByteWriter()
        RecordEncoder.samples((0..<20).map { _ in RefSample(ref: Self.randomRef(&rng), timestamp: Self.randomTime(&rng), value: InterestingValues.random(using: &rng)) }, into: &w)
        out.append(("samples", w.bytes))
        w = ByteWriter()
        RecordEncoder.tombstones((0..<6).map { _ in RefTombstone(ref: Self.randomRef(&rng), minTime: Self.randomTime(&rng), maxTime: Self.randomTime(&rng)) }, into: &w)
        out.append(("tombstones", w.bytes))
        return out
    }

    /// Decodes `bytes` with the decoder for its name, as if the record sat at `base` in `file`.
    static func decode(_ name: String, _ bytes: [UInt8], base: Int) throws(TSDBError) -> Int {
        switch name {
        case "series": return try RecordDecoder.series(bytes, file: "seg", offset: base).count
        case "samples":
            var out: [RefSample] = []
            try RecordDecoder.samples(bytes, into: &out, file: "seg", offset: base)
            return out.count
        default: return try RecordDecoder.tombstones(bytes, file: "seg", offset: base).count
        }
    }

    @Test func truncatedRecordsThrowCorruptionWithOffset() throws {
        let base = 4096
        for (name, bytes) in try Self.sampleRecords() {
            let whole = try Self.decode(name, bytes, base: base)
            for length in 0..<bytes.count {
                do {
                    // A cut at an entry boundary is a shorter valid record.
                    let n = try Self.decode(name, Array(bytes[0..<length]), base: base)
                    #expect(n < whole, "\(name) cut at \(length)")
                } catch {
                    #expect(error.code == .corruption, "\(name) cut at \(length): \(error)")
                    #expect(error.location?.file == "seg")
                    let offset = try #require(error.location?.offset, "\(name) cut at \(length)")
                    #expect(offset >= base && offset <= base + length, "\(name) cut at \(length): \(error)")
                }
            }
        }
    }

    @Test func flippedBytesNeverTrap() throws {
        var rng = SeededRandom.fromEnvironment()
        let base = 100
        for (name, original) in try Self.sampleRecords() {
            for _ in 0..<2000 {
                var bytes = original
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                do {
                    _ = try Self.decode(name, bytes, base: base)
                } catch {
                    #expect(error.code == .corruption, "\(name), seed \(rng.seed): \(error)")
                    let offset = try #require(error.location?.offset)
                    #expect(offset >= base && offset <= base + bytes.count, "\(name), seed \(rng.seed): \(error)")
                }
            }
        }
    }

    /// `validateSamples` accepts exactly the records both samples decoders accept.
    @Test func samplesValidationAgreesWithTheDecoders() throws {
        var rng = SeededRandom.fromEnvironment()
        let original = try Self.sampleRecords()[1].bytes
        var cases: [[UInt8]] = (0...original.count).map { Array(original[0..<$0]) }
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = rng.next() % 2 == 0 ? 0xff : UInt8(truncatingIfNeeded: rng.next())
            }
            cases.append(bytes)
        }
        for bytes in cases {
            let valid = bytes.withUnsafeBytes { raw in (try? RecordDecoder.validateSamples(raw)) != nil }
            var out: [RefSample] = []
            let decodes = (try? RecordDecoder.samples(bytes, into: &out)) != nil
            let cursorDecodes = bytes.withUnsafeBytes { raw -> Bool in
                do throws(TSDBError) {
                    var cursor = try SampleCursor(raw)
                    while try cursor.next() != nil {}
                    return true
                } catch { return false }
            }
            #expect(valid == decodes, "\(bytes), seed \(rng.seed)")
            #expect(valid == cursorDecodes, "\(bytes), seed \(rng.seed)")
        }
    }

    @Test func absurdLabelCountIsCorruptionNotAnAllocation() throws {
        // n = 2⁶³ labels in a 20-byte record.
        let bytes: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]
        #expect(throws: TSDBError.self) { try RecordDecoder.series(bytes, file: "f", offset: 10) }
        do {
            _ = try RecordDecoder.series(bytes, file: "f", offset: 10)
        } catch {
            #expect(error.code == .corruption)
            #expect(error.location == TSDBError.Location(file: "f", offset: 19))
        }
    }
}
