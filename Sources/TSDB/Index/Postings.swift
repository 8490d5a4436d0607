/// Set algebra over postings lists: ascending, duplicate-free series references.
///
/// The head keeps postings in memory (``MemPostings``); blocks will read them from the index
/// file. Both feed these functions. Each is linear in its inputs, except that `intersect`
/// gallops through a much longer list.
enum Postings {
    /// References present in every list. An empty input yields an empty result.
    static func intersect(_ lists: [[UInt64]]) -> [UInt64] {
        guard var result = lists.min(by: { $0.count < $1.count }) else { return [] }
        for list in lists where !result.isEmpty {
            result = intersect(result, list)
        }
        return result
    }

    static func intersect(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        let (small, large) = a.count <= b.count ? (a, b) : (b, a)
        var out: [UInt64] = []
        out.reserveCapacity(small.count)
        var j = 0
        for x in small {
            j = seek(large, from: j, to: x)
            if j == large.count { break }
            if large[j] == x { out.append(x) }
        }
        return out
    }

    /// References present in any list.
    static func merge(_ lists: [[UInt64]]) -> [UInt64] {
        switch lists.count {
        case 0: return []
        case 1: return lists[0]
        case 2: return merge(lists[0], lists[1])
        default:
            let mid = lists.count / 2
            return merge(merge(Array(lists[..<mid])), merge(Array(lists[mid...])))
        }
    }

    static func merge(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            let x = a[i]
            let y = b[j]
            if x < y {
                out.append(x); i += 1
            } else if y < x {
                out.append(y); j += 1
            } else {
                out.append(x); i += 1; j += 1
            }
        }
        out.append(contentsOf: a[i...])
        out.append(contentsOf: b[j...])
        return out
    }

    /// References in `a` that are not in `b`.
    static func subtract(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        guard !b.isEmpty else { return a }
        var out: [UInt64] = []
        out.reserveCapacity(a.count)
        var j = 0
        for x in a {
            j = seek(b, from: j, to: x)
            if j == b.count || b[j] != x { out.append(x) }
        }
        return out
    }

    /// First index ≥ `from` whose element is ≥ `target`: exponential then binary search.
    @inline(__always)
    static func seek(_ list: [UInt64], from: Int, to target: UInt64) -> Int {
        var lo = from
        guard lo < list.count, list[lo] < target else { return lo }
        var step = 1
        var hi = lo + 1
        while hi < list.count && list[hi] < target {
            lo = hi
            step <<= 1
            hi = lo + step
        }
        hi = Swift.min(hi, list.count)
        // list[lo] < target, and list[hi] >= target or hi == count.
        while lo + 1 < hi {
            let mid = (lo + hi) >> 1
            if list[mid] < target { lo = mid } else { hi = mid }
        }
        return hi
    }
}
