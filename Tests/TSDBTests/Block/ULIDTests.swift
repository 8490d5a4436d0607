import Testing
import TSDBTestSupport

@testable import TSDB

/// A generator that returns the given words in turn, then repeats the last one.
private struct FixedRandom: RandomNumberGenerator {
    var words: [UInt64]
    var index = 0
    init(_ words: UInt64...) { self.words = words }
    mutating func next() -> UInt64 {
        defer { index += 1 }
        return words[min(index, words.count - 1)]
    }
}

/// ULIDs (FORMAT.md §9.1) against oklog/ulid's own test vectors and its parse rules.
@Suite(.heavy) struct ULIDTests {
    /// oklog `TestAlizainCompatibility`: time 1469918176385 with zero entropy.
    @Test func alizainVector() throws {
        var zero = FixedRandom(0)
        let id = ULID.make(timestampMs: 1_469_918_176_385, using: &zero)
        #expect(id.description == "01ARYZ6S410000000000000000")
        #expect(ULID("01ARYZ6S410000000000000000") == id)
        #expect(id.timestampMs == 1_469_918_176_385)
    }

    /// oklog `testULID`: 1e5 ms is bytes 00 00 00 01 86 a0, then the 10 entropy bytes.
    @Test func bytesVector() throws {
        var ones = FixedRandom(.max)
        let id = ULID.make(timestampMs: 100_000, using: &ones)
        #expect(id.bytes == [0, 0, 0, 0x01, 0x86, 0xa0] + Array(repeating: 0xFF, count: 10))
        #expect(ULID(bytes: id.bytes) == id)
        #expect(ULID(bytes: [UInt8](repeating: 0, count: 15)) == nil)
    }

    /// Values checked with an independent Python decoder; the second is a block that
    /// promtool 2.42 named (its ULID time is when promtool ran).
    @Test(arguments: [
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", UInt64(0x0156_3e3a_b5d3_d676), UInt64(0x4c61_efb9_9302_bd5b), UInt64(1_469_922_850_259)),
        ("01M7YMRHSB12X23MYA12EPSMKK", 0x01a1_fd4c_472b_08ba, 0x21d3_ca08_9d6c_d273, 1_795_250_997_035),
        ("0000000000XXXXXXXXXXXXHEAD", 0xef7b, 0xdef7_bdef_7bd8_b94d, 0),  // Prometheus's headULID
        ("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", .max, .max, ULID.maxTimestamp),
        ("00000000000000000000000000", 0, 0, 0),
    ])
    func knownValues(text: String, high: UInt64, low: UInt64, timestamp: UInt64) throws {
        let id = try #require(ULID(text))
        #expect(id.high == high && id.low == low)
        #expect(id.timestampMs == timestamp)
        #expect(id.description == text)
        #expect(ULID(text.lowercased()) == id)
    }

    /// oklog `TestOverflowHandling` and `ParseStrict`'s character check, plus lengths.
    @Test(arguments: [
        "80000000000000000000000000", "80000000000000000000000001", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "0000XSNJG0MQJHBF4QX1EFD6Y", "0000XSNJG0MQJHBF4QX1EFD6Y33", "",
        "0000XSNJG0MQJHBF4QX1EFD6YI", "0000XSNJG0MQJHBF4QX1EFD6YL", "0000XSNJG0MQJHBF4QX1EFD6YO",
        "0000XSNJG0MQJHBF4QX1EFD6YU", "0000XSNJG0MQJHBF4QX1EFD6Y-", "0000XSNJG0MQJHBF4QX1EFD6Yé",
        "0000000000XXSELECTEDSERIES",  // Prometheus's in-memory selectedSeriesHeadULID has L and I
    ])
    func invalidStringsAreRejected(text: String) {
        #expect(ULID(text) == nil)
    }

    @Test func everyByteAtEveryPositionParsesOrFailsWithoutTrapping() {
        let base = Array("0000XSNJG0MQJHBF4QX1EFD6Y3".utf8)
        let valid = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz".utf8)
        for position in 0..<26 {
            for byte in UInt8.min...UInt8.max {
                var text = base
                text[position] = byte
                let s = String(decoding: text, as: UTF8.self)
                let expectValid = valid.contains(byte) && (position > 0 || (byte >= 0x30 && byte <= 0x37))
                #expect((ULID(s) != nil) == expectValid, "byte \(byte) at \(position)")
            }
        }
    }

    @Test func randomRoundTripsAndOrderMatchesText() {
        var rng = SeededRandom.fromEnvironment()
        var ids: [ULID] = []
        for _ in 0..<2000 {
            let id = ULID.make(timestampMs: rng.next() % (ULID.maxTimestamp + 1), using: &rng)
            #expect(ULID(id.description) == id, "seed \(rng.seed)")
            #expect(ULID(bytes: id.bytes) == id)
            ids.append(id)
        }
        #expect(ids.sorted().map(\.description) == ids.map(\.description).sorted(), "seed \(rng.seed)")
        #expect(ids.sorted().map(\.bytes).elementsEqual(ids.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) }))
    }

    @Test func monotonicWithinOneMillisecond() throws {
        var rng = SeededRandom.fromEnvironment()
        var generator = MonotonicULIDGenerator()
        var previous = try generator.next(timestampMs: 1_700_000_000_000, using: &rng)
        for _ in 0..<10_000 {
            let id = try generator.next(timestampMs: 1_700_000_000_000, using: &rng)
            #expect(id > previous, "seed \(rng.seed)")
            #expect(id.timestampMs == 1_700_000_000_000)
            let gap = id.low &- previous.low
            #expect(gap >= 1 && gap <= UInt64(UInt32.max), "seed \(rng.seed)")
            previous = id
        }
        let later = try generator.next(timestampMs: 1_700_000_000_001, using: &rng)
        #expect(later > previous && later.timestampMs == 1_700_000_000_001)
    }

    @Test func monotonicCarriesIntoTheHigh16RandomBits() throws {
        var rng = FixedRandom(0x1234, .max - 1)
        var generator = MonotonicULIDGenerator(maxIncrement: 1)
        let first = try generator.next(timestampMs: 5, using: &rng)
        #expect(first.high == 5 << 16 | 0x1234 && first.low == .max - 1)
        let second = try generator.next(timestampMs: 5, using: &rng)
        #expect(second.high == first.high && second.low == .max)
        let third = try generator.next(timestampMs: 5, using: &rng)
        #expect(third.high == 5 << 16 | 0x1235 && third.low == 0)
    }

    @Test func monotonicOverflowThrows() throws {
        var rng = FixedRandom(.max)
        var generator = MonotonicULIDGenerator(maxIncrement: 1)
        let first = try generator.next(timestampMs: 9, using: &rng)
        #expect(first.description.hasSuffix("ZZZZZZZZZZZZZZZZ"))
        #expect(throws: TSDBError.self) { try generator.next(timestampMs: 9, using: &rng) }
        // A new millisecond starts afresh.
        #expect(try generator.next(timestampMs: 10, using: &rng).timestampMs == 10)
    }
}
