import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs per-series work on every core: series are independent in selectors and range
/// functions, and decoding their chunks is most of a query's time.
enum Parallel {
    /// Online cores, at most 16.
    static let cores: Int = max(1, min(16, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// `body` over contiguous parts of `0..<count`, concurrently when there is enough work,
    /// the parts' results concatenated in order. The first error (by part) is thrown.
    static func map<T>(_ count: Int, minimumPerPart: Int = 32,
                       _ body: (Range<Int>) throws(PromQLError) -> [T]) throws(PromQLError) -> [T] {
        let parts = min(cores * 4, count / max(1, minimumPerPart))
        guard parts > 1 else { return try body(0..<count) }
        let results = Slots<Result<[T], PromQLError>>(count: parts)
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let range = (count * p / parts)..<(count * (p + 1) / parts)
                do throws(PromQLError) {
                    results.set(p, .success(try work.value(range)))
                } catch {
                    results.set(p, .failure(error))
                }
            }
        }
        var out: [T] = []
        for p in 0..<parts {
            switch results.get(p) {
            case .success(let part)?: out.append(contentsOf: part)
            case .failure(let e)?: throw e
            case nil: break
            }
        }
        return out
    }
}

/// One slot per part, each written by exactly one thread before `concurrentPerform` returns.
private final class Slots<T>: @unchecked Sendable {
    // Raw storage: concurrent writes to distinct elements of a Swift array property would be
    // overlapping accesses to that property.
    private let base: UnsafeMutablePointer<T?>
    private let count: Int
    init(count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        base.initialize(repeating: nil, count: count)
    }
    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }
    func set(_ i: Int, _ v: T) { base[i] = v }
    func get(_ i: Int) -> T? { base[i] }
}

private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
