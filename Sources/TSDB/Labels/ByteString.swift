#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-wise comparison of the UTF-8 of two strings, as Go compares strings.
///
/// Swift's own `==` and `<` on `String` follow Unicode canonical equivalence, so "é" written
/// precomposed equals "e\u{301}". Prometheus compares label bytes, and so must we: two label
/// values that differ in bytes are two different series.
@inline(__always)
func compareUTF8(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    return a.withUTF8 { pa in
        b.withUTF8 { pb in
            let n = min(pa.count, pb.count)
            if n > 0, let x = pa.baseAddress, let y = pb.baseAddress {
                let c = memcmp(x, y, n)
                if c != 0 { return c < 0 ? -1 : 1 }
            }
            return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
        }
    }
}

@inline(__always)
func equalUTF8(_ a: String, _ b: String) -> Bool {
    var a = a
    var b = b
    return a.withUTF8 { pa in
        b.withUTF8 { pb in
            guard pa.count == pb.count else { return false }
            guard pa.count > 0, let x = pa.baseAddress, let y = pb.baseAddress else { return true }
            return memcmp(x, y, pa.count) == 0
        }
    }
}

/// A string used as a dictionary key with byte-wise equality and hashing (see ``compareUTF8``).
struct ByteString: Hashable, Comparable, Sendable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (a: ByteString, b: ByteString) -> Bool { equalUTF8(a.string, b.string) }
    static func < (a: ByteString, b: ByteString) -> Bool { compareUTF8(a.string, b.string) < 0 }

    func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

extension ByteString {
    /// The union of lists each sorted byte-wise without repeats, sorted byte-wise without
    /// repeats: a merge, not a sort.
    static func mergeSorted(_ lists: [[String]]) -> [String] {
        var lists = lists.filter { !$0.isEmpty }
        guard lists.count > 1 else { return lists.first ?? [] }
        // Pairwise rounds: log2(k) passes over the values.
        while lists.count > 1 {
            var next: [[String]] = []
            next.reserveCapacity((lists.count + 1) / 2)
            var i = 0
            while i + 1 < lists.count {
                next.append(merge(lists[i], lists[i + 1]))
                i += 2
            }
            if i < lists.count { next.append(lists[i]) }
            lists = next
        }
        return lists[0]
    }

    private static func merge(_ a: [String], _ b: [String]) -> [String] {
        var out: [String] = []
        out.reserveCapacity(max(a.count, b.count))
        var i = 0, j = 0
        while i < a.count && j < b.count {
            let c = compareUTF8(a[i], b[j])
            if c < 0 {
                out.append(a[i]); i += 1
            } else if c > 0 {
                out.append(b[j]); j += 1
            } else {
                out.append(a[i]); i += 1; j += 1
            }
        }
        out.append(contentsOf: a[i...])
        out.append(contentsOf: b[j...])
        return out
    }
}
