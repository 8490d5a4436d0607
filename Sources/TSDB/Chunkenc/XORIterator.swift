/// Decodes an XOR chunk sample by sample. Damaged bytes end the iteration and set
/// ``error``; the iterator never traps. Holds its own reference to the bytes, so it stays
/// valid as long as it lives.
@_spi(Chunks) public struct XORIterator: IteratorProtocol {
    private var reader: BitReader
    private let total: Int
    public private(set) var read = 0
    public private(set) var timestamp: Int64 = 0
    private var valueBits: UInt64 = 0
    private var delta: UInt64 = 0
    private var leading: UInt8 = 0
    private var trailing: UInt8 = 0
    /// Set when the bytes turned out to be damaged; describes what and where (the byte offset where reading stopped).
    public private(set) var error: TSDBError?

    public init(_ bytes: [UInt8]) {
        reader = BitReader(bytes, startingAt: 2)
        if bytes.count >= 2 {
            total = Int(bytes[0]) << 8 | Int(bytes[1])
        } else {
            total = 0
            if !bytes.isEmpty { error = .corruption("XOR chunk of at least 2 bytes", offset: 0) }
        }
    }

    public var value: Double { Double(bitPattern: valueBits) }
    /// The current sample; valid after `next()` or `seek(to:)` returned one.
    public var at: Sample { Sample(timestamp: timestamp, value: value) }

    public mutating func next() -> Sample? {
        guard error == nil, read < total else { return nil }
        switch read {
        case 0:
            guard let t = readUvarint(), let v = reader.readBits(64) else { return fail("timestamp or value") }
            timestamp = Int64(bitPattern: t >> 1) ^ -Int64(bitPattern: t & 1)
            valueBits = v
        case 1:
            guard let d = readUvarint() else { return fail("second timestamp delta") }
            delta = d
            timestamp = timestamp &+ Int64(bitPattern: d)
            guard readValue() else { return nil }
        default:
            guard readTimestamp(), readValue() else { return nil }
        }
        read += 1
        return at
    }

    /// Advances to the first sample at or after `target`; returns it, or nil when none is left.
    /// Never moves backwards: if the current sample is already at or after `target`, it stays.
    public mutating func seek(to target: Int64) -> Sample? {
        if read > 0 && timestamp >= target { return at }
        while let s = next() {
            if s.timestamp >= target { return s }
        }
        return nil
    }

    private mutating func fail(_ what: String) -> Sample? {
        error = .corruption("XOR chunk: \(what) of sample \(read) ends early or is malformed",
                            offset: reader.bitOffset / 8)
        return nil
    }

    private mutating func readUvarint() -> UInt64? {
        var result: UInt64 = 0
        for i in 0..<10 {
            guard let b = reader.readBits(8) else { return nil }
            if b < 0x80 {
                if i == 9 && b > 1 { return nil }
                return result | b << (7 * UInt64(i))
            }
            result |= (b & 0x7f) << (7 * UInt64(i))
        }
        return nil
    }

    private mutating func readTimestamp() -> Bool {
        guard let prefix = reader.readOnes(upTo: 4) else { _ = fail("timestamp prefix"); return false }
        var dod: Int64 = 0
        let size: Int
        switch prefix {
        case 0: size = 0
        case 1: size = 14
        case 2: size = 17
        case 3: size = 20
        default: size = 64
        }
        if size == 64 {
            guard let bits = reader.readBits(64) else { _ = fail("64-bit delta of delta"); return false }
            dod = Int64(bitPattern: bits)
        } else if size > 0 {
            guard var bits = reader.readBits(size) else { _ = fail("delta of delta"); return false }
            if bits > 1 << (size - 1) { bits = bits &- (1 << size) }  // negative values wrap around
            dod = Int64(bitPattern: bits)
        }
        delta = delta &+ UInt64(bitPattern: dod)
        timestamp = timestamp &+ Int64(bitPattern: delta)
        return true
    }

    private mutating func readValue() -> Bool {
        // `0`: same value; `10`: same window; `11`: a new window follows.
        guard let control = reader.readOnes(upTo: 2) else { _ = fail("value control bit"); return false }
        if control == 0 { return true }
        var significant: Int
        if control == 2 {
            guard let l = reader.readBits(5), let m = reader.readBits(6) else { _ = fail("value window"); return false }
            significant = m == 0 ? 64 : Int(m)
            let t = 64 - Int(l) - significant
            guard t >= 0 else { _ = fail("value window (leading + significant > 64)"); return false }
            leading = UInt8(l)
            trailing = UInt8(t)
        } else {
            significant = 64 - Int(leading) - Int(trailing)
        }
        guard significant > 0, let bits = reader.readBits(significant) else { _ = fail("value bits"); return false }
        valueBits ^= bits &<< UInt64(trailing)
        return true
    }
}
