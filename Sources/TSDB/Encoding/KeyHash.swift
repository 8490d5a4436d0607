/// The hash for in-memory open-addressing tables keyed by short byte strings (label
/// names and values, series texts): 8 bytes at a time, multiply and fold, then a final
/// avalanche. Nothing on disk depends on it, so it may change; it need not match
/// Prometheus (``XXHash64`` does that, for label sets). No hash-flooding defence: the keys
/// come from the caller's own data and tables are at most half full.
package enum KeyHash {
    @inlinable
    package static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        if i < bytes.count {
            var tail: UInt64 = 0
            for k in i..<bytes.count { tail = tail << 8 | UInt64(bytes[k]) }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h
    }
}
