/// Maps the series text of exposition lines (`name{a="x"}`, byte for byte) to a series
/// number, without allocating on a hit: an open-addressing table over an arena of key bytes.
/// Texts that spell the same labels differently (order, spacing) are told apart here and
/// joined by the caller through their ``Labels``.
///
/// Not thread-safe. Costs the key bytes plus 24 bytes per slot.
struct SeriesTextTable {
    private var arena: [UInt8] = []
    /// Per slot: key offset in `arena` (−1 = empty), key length, hash, value.
    private var offsets: [Int] = []
    private var lengths: [Int32] = []
    private var hashes: [UInt64] = []
    private var values: [Int32] = []
    private(set) var count = 0

    init() { resize(1024) }

    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        // FNV-1a over 8-byte words, then a final mix: fast, and keys are short.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        while i + 8 <= key.count {
            h = (h ^ key.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x100_0000_01b3
            h ^= h >> 29
            i += 8
        }
        while i < key.count { h = (h ^ UInt64(key[i])) &* 0x100_0000_01b3; i += 1 }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        return h ^ (h >> 33)
    }

    func get(_ key: UnsafeRawBufferPointer) -> Int32? {
        let h = Self.hash(key)
        let mask = offsets.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while offsets[slot] >= 0 {
            if hashes[slot] == h, Int(lengths[slot]) == key.count, equal(slot, key) { return values[slot] }
            slot = (slot + 1) & mask
        }
        return nil
    }

    mutating func insert(_ key: UnsafeRawBufferPointer, _ value: Int32) {
        if (count + 1) * 2 > offsets.count { resize(offsets.count * 2) }
        let h = Self.hash(key)
        let mask = offsets.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while offsets[slot] >= 0 { slot = (slot + 1) & mask }
        offsets[slot] = arena.count
        lengths[slot] = Int32(key.count)
        hashes[slot] = h
        values[slot] = value
        arena.append(contentsOf: key)
        count += 1
    }

    private func equal(_ slot: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let start = offsets[slot]
        return arena.withUnsafeBytes { a in
            key.isEmpty || memcmp(a.baseAddress! + start, key.baseAddress!, key.count) == 0
        }
    }

    private mutating func resize(_ capacity: Int) {
        let old = (offsets, lengths, hashes, values)
        offsets = [Int](repeating: -1, count: capacity)
        lengths = [Int32](repeating: 0, count: capacity)
        hashes = [UInt64](repeating: 0, count: capacity)
        values = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for i in old.0.indices where old.0[i] >= 0 {
            var slot = Int(truncatingIfNeeded: old.2[i]) & mask
            while offsets[slot] >= 0 { slot = (slot + 1) & mask }
            offsets[slot] = old.0[i]
            lengths[slot] = old.1[i]
            hashes[slot] = old.2[i]
            values[slot] = old.3[i]
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
