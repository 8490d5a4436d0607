#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import TSDB

/// The receiver's series, keyed by their labels as a request encodes them: a series seen
/// before is appended by reference, without making its label strings, checking them again
/// or hashing them for the head. Equal encoded bytes are equal labels, and the head never
/// reuses a reference, so an entry is either right or names a series the head has since
/// dropped (the append then says so, and the entry goes). Bounded: a stripe that fills up
/// starts over. Thread-safe.
final class SeriesRefCache: Sendable {
    private struct Entry {
        var key: [UInt8]
        var ref: SeriesRef
    }

    private final class Stripe: Sendable {
        let map = Mutex<[UInt64: Entry]>([:])
    }

    private static let stripeCount = 64
    private let stripes: [Stripe]
    private let perStripe: Int

    /// Holds about `capacity` series.
    init(capacity: Int) {
        stripes = (0..<Self.stripeCount).map { _ in Stripe() }
        perStripe = Swift.max(1, capacity / Self.stripeCount)
    }

    static func hash(_ key: ArraySlice<UInt8>) -> UInt64 {
        key.withUnsafeBytes { b in
            var h = XXHash64()
            h.update(b)
            return h.finalize()
        }
    }

    func ref(_ key: ArraySlice<UInt8>, hash: UInt64) -> SeriesRef? {
        stripe(hash).map.withLock { map in
            guard let e = map[hash], Self.equal(e.key, key) else { return nil }
            return e.ref
        }
    }

    func insert(_ key: ArraySlice<UInt8>, hash: UInt64, ref: SeriesRef) {
        stripe(hash).map.withLock { map in
            if map.count >= perStripe { map.removeAll(keepingCapacity: true) }
            map[hash] = Entry(key: Array(key), ref: ref)
        }
    }

    func remove(hash: UInt64) {
        _ = stripe(hash).map.withLock { $0.removeValue(forKey: hash) }
    }

    /// Byte equality by `memcmp` (`elementsEqual` across array and slice is generic and
    /// compares byte by byte: it was a fifth of the receiver's time).
    private static func equal(_ a: [UInt8], _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0
            }
        }
    }

    private func stripe(_ hash: UInt64) -> Stripe {
        stripes[Int(truncatingIfNeeded: (hash >> 58) % UInt64(Self.stripeCount))]
    }
}
