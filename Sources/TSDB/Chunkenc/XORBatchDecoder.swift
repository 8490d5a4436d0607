/// Decodes a whole XOR chunk in one loop, the state in locals and the bits read straight
/// from the bytes: what queries use to fill a buffer, 1.3–1.6× as fast as stepping
/// ``XORIterator`` (11–14 ns a sample here, `XOR decode 120 samples, batch` in
/// Benchmarks/). The same format and the same checks: damaged bytes stop the decoding with
/// a corruption error naming the sample and byte offset; nothing traps.
enum XORBatchDecoder {
    enum Outcome {
        /// Every sample was decoded.
        case complete
        /// A sample past `maxTime` was reached; the rest of the chunk was not read.
        case pastMaxTime
    }

    /// Appends the chunk's samples with `minTime ≤ t ≤ maxTime` to `out`.
    static func decode(_ bytes: [UInt8], minTime: Int64, maxTime: Int64,
                       into out: inout [Sample]) throws(TSDBError) -> Outcome {
        let result: Result<Outcome, TSDBError> = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, buffer.count >= 2 else {
                return buffer.isEmpty ? .success(.complete) : .failure(.corruption("XOR chunk of at least 2 bytes", offset: 0))
            }
            return decode(Bits(base: base, count: buffer.count), total: Int(base[0]) << 8 | Int(base[1]), minTime: minTime, maxTime: maxTime, into: &out)
        }
        return try result.get()
    }

    /// The bits of a chunk from a bit position, zeros past its end.
    struct Bits {
        let base: UnsafePointer<UInt8>
        let count: Int
        let limit: Int
        var position = 16

        init(base: UnsafePointer<UInt8>, count: Int) {
            self.base = base
            self.count = count
            limit = count &* 8
        }

        /// The 64 bits from `position` (at least 57 of them real), without consuming them.
        @inline(__always) func peek() -> UInt64 {
            let byte = position &>> 3
            let word: UInt64
            if byte &+ 8 <= count {
                word = UInt64(bigEndian: UnsafeRawPointer(base + byte).loadUnaligned(as: UInt64.self))
            } else {
                var w: UInt64 = 0
                for i in 0..<8 {
                    w = w &<< 8
                    if byte &+ i < count { w |= UInt64(base[byte &+ i]) }
                }
                word = w
            }
            return word &<< UInt64(position & 7)
        }

        @inline(__always) func has(_ n: Int) -> Bool { position &+ n <= limit }

        /// `n` bits, 1 ≤ n ≤ 64, or nil past the end.
        @inline(__always) mutating func read(_ n: Int) -> UInt64? {
            guard has(n) else { return nil }
            if n <= 57 {
                let v = peek() &>> UInt64(64 &- n)
                position &+= n
                return v
            }
            let high = peek() &>> 32
            position &+= 32
            let low = peek() &>> UInt64(64 &- (n &- 32))
            position &+= n &- 32
            return high &<< UInt64(n &- 32) | low
        }

        mutating func readUvarint() -> UInt64? {
            var result: UInt64 = 0
            for i in 0..<10 {
                guard let b = read(8) else { return nil }
                if b < 0x80 {
                    if i == 9 && b > 1 { return nil }
                    return result | b &<< UInt64(7 &* i)
                }
                result |= (b & 0x7f) &<< UInt64(7 &* i)
            }
            return nil
        }
    }

    private static func decode(_ reader: Bits, total: Int, minTime: Int64, maxTime: Int64,
                               into out: inout [Sample]) -> Result<Outcome, TSDBError> {
        guard total > 0 else { return .success(.complete) }
        // Room for every sample, written through a pointer, the unused part cut at the end:
        // `append` checked capacity and uniqueness on each sample.
        let first = out.count
        out.append(contentsOf: repeatElement(Sample(timestamp: 0, value: 0), count: total))
        var kept = 0
        let result = out.withUnsafeMutableBufferPointer { room in
            decodeSamples(reader, total: total, minTime: minTime, maxTime: maxTime, into: room.baseAddress! + first, kept: &kept)
        }
        out.removeLast(total &- kept)
        return result
    }

    @inline(never) private static func failure(_ what: String, _ n: Int, _ position: Int) -> Result<Outcome, TSDBError> {
        .failure(.corruption("XOR chunk: \(what) of sample \(n) ends early or is malformed", offset: position / 8))
    }

    /// The loop, everything in locals: no closure captures them, so they stay in registers.
    private static func decodeSamples(_ reader: Bits, total: Int, minTime: Int64, maxTime: Int64,
                                      into slots: UnsafeMutablePointer<Sample>, kept: inout Int) -> Result<Outcome, TSDBError> {
        var r = reader
        var n = 0
        var count = 0
        defer { kept = count }
        guard let t0 = r.readUvarint(), let v0 = r.read(64) else { return failure("timestamp or value", n, r.position) }
        var t = Int64(bitPattern: t0 &>> 1) ^ -Int64(bitPattern: t0 & 1)
        var value = v0
        var delta: UInt64 = 0
        var leading = 0, trailing = 0
        while true {
            if t > maxTime { return .success(.pastMaxTime) }
            if t >= minTime {
                slots[count] = Sample(timestamp: t, value: Double(bitPattern: value))
                count &+= 1
            }
            n &+= 1
            if n == total { return .success(.complete) }
            if n == 1 {
                guard let d = r.readUvarint() else { return failure("second timestamp delta", n, r.position) }
                delta = d
            } else {
                // Delta of delta: `0`, `10` + 14 bits, `110` + 17, `1110` + 20, `1111` + 64.
                guard r.has(1) else { return failure("timestamp prefix", n, r.position) }
                let w = r.peek()
                let ones = min((~w).leadingZeroBitCount, 4)
                let consumed = ones == 4 ? 4 : ones &+ 1
                guard r.has(consumed) else { return failure("timestamp prefix", n, r.position) }
                var dod: Int64 = 0
                switch ones {
                case 0:
                    r.position &+= 1
                case 4:
                    r.position &+= 4
                    guard let bits = r.read(64) else { return failure("64-bit delta of delta", n, r.position) }
                    dod = Int64(bitPattern: bits)
                default:
                    let size = ones == 1 ? 14 : ones == 2 ? 17 : 20
                    guard r.has(consumed &+ size) else { return failure("delta of delta", n, r.position) }
                    var bits = (w &<< UInt64(consumed)) &>> UInt64(64 &- size)
                    r.position &+= consumed &+ size
                    if bits > 1 &<< UInt64(size &- 1) { bits = bits &- (1 &<< UInt64(size)) }  // negative values wrap around
                    dod = Int64(bitPattern: bits)
                }
                delta = delta &+ UInt64(bitPattern: dod)
            }
            t = t &+ Int64(bitPattern: delta)
            // Value: `0` the same, `10` the same window, `11` a new window (5 + 6 bits) first.
            guard r.has(1) else { return failure("value control bit", n, r.position) }
            let w = r.peek()
            if w & (1 &<< 63) == 0 {
                r.position &+= 1
                continue
            }
            guard r.has(2) else { return failure("value control bit", n, r.position) }
            var significant: Int
            if w & (1 &<< 62) != 0 {
                guard r.has(13) else { return failure("value window", n, r.position) }
                let l = Int((w &>> 57) & 0x1f), m = Int((w &>> 51) & 0x3f)
                r.position &+= 13
                significant = m == 0 ? 64 : m
                let tz = 64 &- l &- significant
                guard tz >= 0 else { return failure("value window (leading + significant > 64)", n, r.position) }
                leading = l
                trailing = tz
            } else {
                r.position &+= 2
                significant = 64 &- leading &- trailing
            }
            guard significant > 0, let bits = r.read(significant) else { return failure("value bits", n, r.position) }
            value ^= bits &<< UInt64(trailing)
        }
    }
}
