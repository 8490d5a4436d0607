#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The label sets of a block's series turned into symbol references once, for
/// ``IndexWriter``: the sorted symbol table (FORMAT.md §10.2), each series' labels as
/// `name₀ value₀ name₁ value₁ …` references into it, and the series' order.
///
/// Because references follow the byte order of the symbols, comparing two series' reference
/// lists pairwise, then by length, orders them exactly as ``Labels/compare(_:_:)`` does, and
/// equal lists are equal label sets; sorting and the index's order checks then compare
/// integers instead of strings, and no series' strings are hashed again.
///
/// Cost: one hash of each label name and value (a table sized for the distinct strings,
/// not the series), one sort of the distinct strings, and 4 bytes per name and value.
/// One owner, one thread.
struct SeriesSymbols {
    /// Every distinct name and value plus `""`, sorted byte-wise; `symbols[r]` is reference `r`.
    private(set) var symbols: [String] = []
    /// References of series `i` are `refs[offsets[i]..<offsets[i + 1]]`.
    private var refs: [UInt32] = []
    private var offsets: [Int] = [0]

    /// Interns the labels of each series, in the order given: series `i` is the `i`th.
    init(_ series: some Sequence<Labels>) {
        var table = InternTable()
        _ = table.intern("")
        for labels in series {
            for label in labels {
                refs.append(table.intern(label.name))
                refs.append(table.intern(label.value))
            }
            offsets.append(refs.count)
        }
        // Provisional ids are in first-seen order; references are ranks in byte order.
        let order = table.sortedIDs()
        var rank = [UInt32](repeating: 0, count: order.count)
        for (position, id) in order.enumerated() { rank[Int(id)] = UInt32(position) }
        refs.withUnsafeMutableBufferPointer { refs in
            rank.withUnsafeBufferPointer { rank in
                for i in refs.indices { refs[i] = rank[Int(refs[i])] }
            }
        }
        symbols = order.map { table.strings[Int($0)] }
    }

    /// Number of series.
    var count: Int { offsets.count - 1 }

    /// The symbol references of series `i`: name, value, name, value, …
    func references(of i: Int) -> ArraySlice<UInt32> { refs[offsets[i]..<offsets[i + 1]] }

    /// ``Labels/compare(_:_:)`` of series `i` and `j`, on references.
    func compare(_ i: Int, _ j: Int) -> Int {
        refs.withUnsafeBufferPointer { Self.compare($0, offsets[i]..<offsets[i + 1], offsets[j]..<offsets[j + 1]) }
    }

    /// Series indices in label order (stable for equal label sets).
    func sortedOrder() -> [Int] {
        var order = Array(0..<count)
        refs.withUnsafeBufferPointer { refs in
            offsets.withUnsafeBufferPointer { offsets in
                order.sort { a, b in
                    let c = Self.compare(refs, offsets[a]..<offsets[a + 1], offsets[b]..<offsets[b + 1])
                    return c != 0 ? c < 0 : a < b
                }
            }
        }
        return order
    }

    /// Pairwise, then the shorter first: label order when references are byte-order ranks.
    @inline(__always)
    static func compare(_ refs: UnsafeBufferPointer<UInt32>, _ a: Range<Int>, _ b: Range<Int>) -> Int {
        let n = Swift.min(a.count, b.count)
        var i = 0
        while i < n {
            let x = refs[a.lowerBound + i]
            let y = refs[b.lowerBound + i]
            if x != y { return x < y ? -1 : 1 }
            i += 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Lexicographic comparison of two reference lists (see ``compare(_:_:_:)``).
    static func compare(_ a: ArraySlice<UInt32>, _ b: ArraySlice<UInt32>) -> Int {
        let n = Swift.min(a.count, b.count)
        var i = 0
        while i < n {
            let x = a[a.startIndex + i]
            let y = b[b.startIndex + i]
            if x != y { return x < y ? -1 : 1 }
            i += 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}

/// Distinct strings by their UTF-8 bytes, numbered in first-seen order: an open-addressing
/// table over one byte arena, with ``KeyHash`` (label strings are short and come from our own
/// head, so no hash flooding to guard against).
private struct InternTable {
    private(set) var strings: [String] = []
    private var arena: [UInt8] = []
    private var spans: [(start: Int, count: Int)] = []
    private var hashes: [UInt64] = []
    /// Slot → id + 1; 0 is empty. Power-of-two size, at most half full.
    private var slots = [UInt32](repeating: 0, count: 1024)

    mutating func intern(_ s: String) -> UInt32 {
        if let id = s.utf8.withContiguousStorageIfAvailable({ intern(UnsafeRawBufferPointer($0), s) }) { return id }
        return Array(s.utf8).withUnsafeBytes { intern($0, s) }
    }

    private mutating func intern(_ bytes: UnsafeRawBufferPointer, _ s: String) -> UInt32 {
        let h = KeyHash.hash(bytes)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { break }
            let id = Int(slot - 1)
            if hashes[id] == h && equal(id, bytes) { return UInt32(id) }
            i = (i + 1) & mask
        }
        let id = strings.count
        strings.append(s)
        spans.append((arena.count, bytes.count))
        arena.append(contentsOf: bytes)
        hashes.append(h)
        slots[i] = UInt32(id + 1)
        if strings.count * 2 > slots.count { grow() }
        return UInt32(id)
    }

    private func equal(_ id: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let span = spans[id]
        guard span.count == bytes.count else { return false }
        guard span.count > 0, let p = bytes.baseAddress else { return true }
        return arena.withUnsafeBytes { a in a.baseAddress.map { memcmp($0 + span.start, p, span.count) == 0 } ?? false }
    }

    private mutating func grow() {
        slots = [UInt32](repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for id in hashes.indices {
            var i = Int(truncatingIfNeeded: hashes[id]) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = UInt32(id + 1)
        }
    }

    /// Ids ordered by the bytes of their strings (Go's string order).
    func sortedIDs() -> [UInt32] {
        var ids = (0..<strings.count).map { UInt32($0) }
        arena.withUnsafeBytes { arena in
            let base = arena.baseAddress
            ids.sort { a, b in
                let x = spans[Int(a)], y = spans[Int(b)]
                let n = Swift.min(x.count, y.count)
                if n > 0, let base {
                    let c = memcmp(base + x.start, base + y.start, n)
                    if c != 0 { return c < 0 }
                }
                return x.count < y.count
            }
        }
        return ids
    }
}
