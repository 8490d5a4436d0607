/// Writes bits most-significant first, the order of Prometheus's `bstream`.
///
/// Bits collect in a 64-bit accumulator that is flushed eight bytes at a time, which is
/// about four times faster here than writing byte by byte as the Go code does.
///
/// One quirk of the Go writer is reproduced because it shows in the bytes: its `writeByte`
/// always appends a fresh byte after the one it fills, so a stream whose last write was a
/// whole number of bytes, ending on a byte boundary, carries one extra zero byte at the end
/// (a 1-sample XOR chunk is 17 bytes, not 16). `lastWriteWasWholeBytes` tracks that.
struct BitWriter {
    /// Complete bytes. The last `pendingBits` bits live in `accumulator`, not here yet.
    private(set) var bytes: [UInt8]
    private var accumulator: UInt64 = 0
    private(set) var pendingBits = 0
    /// Whether the last `writeBits` call wrote a multiple of 8 bits (Go ended it with `writeByte`).
    private var lastWriteWasWholeBytes = false

    init(prefix: [UInt8] = [], capacity: Int = 64) {
        bytes = prefix
        bytes.reserveCapacity(capacity)
    }

    /// Number of bytes `finish()` would return: whole bytes plus the partial last one.
    var byteCount: Int { bytes.count + (pendingBits + 7) >> 3 + (hasEmptyTailByte ? 1 : 0) }

    /// Go's `bstream` leaves an empty last byte after a `writeByte` that ends byte-aligned.
    private var hasEmptyTailByte: Bool { lastWriteWasWholeBytes && pendingBits & 7 == 0 }

    /// Appends the low `count` bits of `value` (1 ≤ count ≤ 64); higher bits are ignored.
    /// To keep Go's byte count, a call must end where the Go code's last `writeBits` ends.
    @inline(__always)
    mutating func writeBits(_ value: UInt64, _ count: Int) {
        lastWriteWasWholeBytes = count & 7 == 0
        let v = count == 64 ? value : value & ((1 &<< UInt64(count)) &- 1)
        let free = 64 - pendingBits
        if count < free {
            accumulator |= v &<< UInt64(free - count)
            pendingBits += count
        } else {
            let rest = count - free
            accumulator |= v &>> UInt64(rest)
            flushWord()
            accumulator = rest == 0 ? 0 : v &<< UInt64(64 - rest)
            pendingBits = rest
        }
    }

    @inline(__always)
    mutating func writeBit(_ bit: Bool) {
        writeBits(bit ? 1 : 0, 1)
    }

    @inline(__always)
    mutating func writeByte(_ b: UInt8) {
        writeBits(UInt64(b), 8)
    }

    @inline(__always)
    private mutating func flushWord() {
        let word = accumulator.bigEndian
        withUnsafeBytes(of: word) { bytes.append(contentsOf: $0) }
    }

    /// The bytes written so far, the last one zero-padded, without disturbing the writer.
    func snapshot() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(byteCount)
        out.append(contentsOf: bytes)
        var acc = accumulator
        var n = pendingBits
        while n > 0 {
            out.append(UInt8(truncatingIfNeeded: acc >> 56))
            acc <<= 8
            n -= 8
        }
        if hasEmptyTailByte { out.append(0) }
        return out
    }
}

/// Reads bits most-significant first from bytes that may be damaged: running out of bits
/// returns nil, never traps.
struct BitReader {
    let bytes: [UInt8]
    private var position: Int
    private var buffer: UInt64 = 0
    private var valid = 0

    init(_ bytes: [UInt8], startingAt offset: Int) {
        self.bytes = bytes
        self.position = offset
    }

    /// Bit offset of the next bit, for error messages.
    var bitOffset: Int { position * 8 - valid }

    @inline(__always)
    private mutating func refill() {
        let take = (64 - valid) >> 3
        if take > 0 && position + 8 <= bytes.count {
            // Eight bytes in one load, keeping the whole ones that fit in the buffer.
            let word = bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt64.self)) }
            let bits = take * 8
            buffer |= (word &>> UInt64(64 - bits)) &<< UInt64(64 - valid - bits)
            valid += bits
            position += take
            return
        }
        while valid <= 56 && position < bytes.count {
            buffer |= UInt64(bytes[position]) &<< UInt64(56 - valid)
            valid += 8
            position += 1
        }
    }

    /// Reads `count` bits (1 ≤ count ≤ 64) as the low bits of the result, or nil at the end.
    @inline(__always)
    mutating func readBits(_ count: Int) -> UInt64? {
        if count > 56 { return readWide(count) }
        if valid < count {
            refill()
            if valid < count { return nil }
        }
        let result = buffer &>> UInt64(64 - count)
        buffer = buffer &<< UInt64(count)
        valid -= count
        return result
    }

    /// Counts 1 bits up to the first 0 bit or until `limit` (≤ 56) ones, consuming them and
    /// that 0: the prefix codes of XOR chunks (`0`, `10`, `110`, … `1111`) in one step.
    @inline(__always)
    mutating func readOnes(upTo limit: Int) -> Int? {
        if valid < limit { refill() }
        if valid >= limit {
            let ones = Swift.min((~buffer).leadingZeroBitCount, limit)
            let consumed = ones == limit ? limit : ones + 1
            buffer = buffer &<< UInt64(consumed)
            valid -= consumed
            return ones
        }
        var ones = 0
        while ones < limit {
            guard let b = readBits(1) else { return nil }
            if b == 0 { break }
            ones += 1
        }
        return ones
    }

    /// More than 56 bits, in two reads; out of line so that ``readBits(_:)`` is not recursive
    /// and inlines into the decoders.
    @inline(never)
    private mutating func readWide(_ count: Int) -> UInt64? {
        guard let high = readBits(count - 32), let low = readBits(32) else { return nil }
        return high << 32 | low
    }

    @inline(__always)
    mutating func readBit() -> Bool? {
        guard let b = readBits(1) else { return nil }
        return b == 1
    }
}
