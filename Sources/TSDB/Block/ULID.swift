/// A block's identifier: a 48-bit Unix timestamp in milliseconds followed by 80 random
/// bits, written as 26 Crockford base32 characters (FORMAT.md §9.1). This is the
/// `github.com/oklog/ulid` type that Prometheus names its block directories with.
///
/// Values order the same way as their strings and as their 16 big-endian bytes.
public struct ULID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Bytes 0–7, big-endian: the timestamp in the high 48 bits, then 16 random bits.
    public let high: UInt64
    /// Bytes 8–15, big-endian: the remaining 64 random bits.
    public let low: UInt64

    /// Builds a ULID from its two 64-bit halves, most significant half first.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds a ULID from its 16 bytes; nil unless there are exactly 16.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { hi = hi << 8 | UInt64(b) } else { lo = lo << 8 | UInt64(b) }
        }
        self.init(high: hi, low: lo)
    }

    /// The largest timestamp a ULID can hold, 2⁴⁸ − 1 ms (year 10889).
    public static let maxTimestamp: UInt64 = (1 << 48) - 1

    /// Builds a ULID from a timestamp (at most ``maxTimestamp``) and the low 80 bits of
    /// `randomHigh:randomLow` (`randomHigh` keeps its low 16 bits).
    public init(timestampMs: UInt64, randomHigh: UInt16, randomLow: UInt64) {
        precondition(timestampMs <= ULID.maxTimestamp, "ULID timestamp \(timestampMs) needs more than 48 bits")
        self.init(high: timestampMs << 16 | UInt64(randomHigh), low: randomLow)
    }

    /// A ULID for `timestampMs` with 80 bits from `rng`, as oklog's `ulid.New(ms, entropy)`.
    /// Traps if `timestampMs` exceeds ``maxTimestamp``.
    public static func make(timestampMs: UInt64, using rng: inout some RandomNumberGenerator) -> ULID {
        ULID(timestampMs: timestampMs, randomHigh: UInt16(truncatingIfNeeded: rng.next()), randomLow: rng.next())
    }

    /// Milliseconds since the Unix epoch, the first 48 bits.
    public var timestampMs: UInt64 { high >> 16 }

    /// The 16 bytes, big-endian, as oklog's `ULID` array holds them.
    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high >> (56 - 8 * i) : low >> (120 - 8 * i))) }
    }

    public static func < (a: ULID, b: ULID) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    // MARK: Text form

    /// Crockford's base32 alphabet: digits and capitals without I, L, O and U.
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// Digit value of each ASCII byte, 0xFF where the byte is not a digit. Lower case maps
    /// like upper case, as in oklog's `dec` table.
    static let digitValues: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, char) in alphabet.enumerated() {
            table[Int(char)] = UInt8(value)
            if char >= UInt8(ascii: "A") { table[Int(char | 0x20)] = UInt8(value) }
        }
        return table
    }()

    /// The 26-character upper-case form: 130 bits (two leading zero bits, then the 128
    /// bits), five bits per character, most significant first.
    public var description: String {
        var out = [UInt8](repeating: 0, count: 26)
        for i in 0..<26 { out[i] = ULID.alphabet[Int(fiveBits(atShift: 125 - 5 * i))] }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bits `shift ..< shift+5` of the 128-bit value (bit 0 = least significant of `low`).
    private func fiveBits(atShift shift: Int) -> UInt64 {
        if shift >= 64 { return (high >> UInt64(shift - 64)) & 31 }
        if shift <= 59 { return (low >> UInt64(shift)) & 31 }
        return ((high << UInt64(64 - shift)) | (low >> UInt64(shift))) & 31
    }

    /// Parses the 26-character form, upper or lower case. Nil for any other length, a byte
    /// outside the alphabet (I, L, O, U included), or a first character above `7`, which
    /// would need more than 128 bits. oklog's `ParseStrict` accepts and rejects the same
    /// strings; its lenient `Parse`, used by `json.Unmarshal`, decodes invalid characters
    /// to garbage instead of failing (FORMAT.md §9.1).
    public init?(_ string: some StringProtocol) {
        var hi: UInt64 = 0, lo: UInt64 = 0
        var count = 0
        for byte in string.utf8 {
            count += 1
            guard count <= 26 else { return nil }
            let digit = ULID.digitValues[Int(byte)]
            guard digit != 0xFF, count > 1 || digit <= 7 else { return nil }
            hi = hi << 5 | lo >> 59
            lo = lo << 5 | UInt64(digit)
        }
        guard count == 26 else { return nil }
        self.init(high: hi, low: lo)
    }
}

/// Makes ULIDs that increase strictly within one millisecond, as oklog's
/// `ulid.Monotonic(entropy, inc)`: the first ULID of a millisecond takes 80 random bits;
/// each further one in the same millisecond adds a random increment in `1...maxIncrement`
/// to the previous randomness. A different millisecond (earlier or later) starts afresh,
/// so ULIDs only increase while the clock does.
///
/// Prometheus itself names blocks with `ulid.MustNew(ulid.Now(), crypto/rand.Reader)`,
/// no monotonic source; this generator is for callers that create several blocks per
/// millisecond and want them ordered. Not thread-safe: one owner at a time.
struct MonotonicULIDGenerator: Sendable {
    /// The largest increment; oklog's default (`inc == 0`) is `math.MaxUint32`.
    let maxIncrement: UInt64
    private var last: ULID?

    init(maxIncrement: UInt64 = UInt64(UInt32.max)) {
        self.maxIncrement = max(1, maxIncrement)
    }

    /// The next ULID for `timestampMs`. Throws ``TSDBError/Code/invalidArgument`` when the
    /// 80 random bits would overflow within one millisecond (oklog's
    /// `ErrMonotonicOverflow`); with fresh random bits that takes about 2⁴⁸ ULIDs.
    mutating func next(timestampMs: UInt64, using rng: inout some RandomNumberGenerator) throws(TSDBError) -> ULID {
        guard let last, last.timestampMs == timestampMs else {
            let id = ULID.make(timestampMs: timestampMs, using: &rng)
            self.last = id
            return id
        }
        let increment = maxIncrement == 1 ? 1 : UInt64.random(in: 1...maxIncrement, using: &rng)
        let (lo, carry) = last.low.addingReportingOverflow(increment)
        let randomHigh = (last.high & 0xFFFF) + (carry ? 1 : 0)
        guard randomHigh <= 0xFFFF else {
            throw TSDBError(.invalidArgument, "ULID randomness overflow after \(last) within millisecond \(timestampMs)")
        }
        let id = ULID(high: last.high & ~0xFFFF | randomHigh, low: lo)
        self.last = id
        return id
    }
}
