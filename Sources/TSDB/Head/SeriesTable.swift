import Synchronization

/// The head's two maps to series: by reference, lock-free, and by label hash, striped.
///
/// Reference lookup is the appender's fast path (`append(ref, …)`), so it is a two-level
/// array read with acquire loads and no lock. Label lookup takes one of `stripeCount`
/// mutexes, so appenders creating series on different threads rarely meet.
///
/// Series live as long as the table: nothing removes them yet. The truncation that will
/// (the blocks issue) must defer freeing until no appender can still hold the pointer.
package final class SeriesTable: @unchecked Sendable {
    fileprivate static let pageBits = 14
    fileprivate static let pageSize = 1 << pageBits
    private static let directorySize = 1 << 16
    /// Highest reference the table can hold.
    package static let maxRef = UInt64(directorySize * pageSize - 1)

    /// Page pointers as integers; each page holds `pageSize` series pointers as integers.
    /// Written under `pageLock`, read without it. (`@unchecked`: the atomics protect these.)
    private let directory: UnsafeMutablePointer<Atomic<UInt>>
    private let pageLock = Mutex(())
    private let stripes: [Stripe]
    private static let stripeCount = 1024
    private let nextRef = Atomic<UInt64>(0)
    private let count = Atomic<Int>(0)

    private final class Stripe: Sendable {
        struct Maps {
            var byHash: [UInt64: MemSeries] = [:]
            /// Series whose hash collides with a different series already in `byHash`.
            var conflicts: [UInt64: [MemSeries]] = [:]
        }
        let maps = Mutex(Maps())
    }

    init() {
        directory = .allocate(capacity: Self.directorySize)
        for i in 0..<Self.directorySize { (directory + i).initialize(to: Atomic(0)) }
        stripes = (0..<Self.stripeCount).map { _ in Stripe() }
    }

    deinit {
        for p in 0..<Self.directorySize {
            let page = directory[p].load(ordering: .relaxed)
            guard page != 0, let pointer = UnsafeMutablePointer<Atomic<UInt>>(bitPattern: page) else { continue }
            for i in 0..<Self.pageSize {
                let s = pointer[i].load(ordering: .relaxed)
                if s != 0, let raw = UnsafeRawPointer(bitPattern: s) {
                    Unmanaged<MemSeries>.fromOpaque(raw).release()
                }
            }
            pointer.deinitialize(count: Self.pageSize)
            pointer.deallocate()
        }
        directory.deinitialize(count: Self.directorySize)
        directory.deallocate()
    }

    var seriesCount: Int { count.load(ordering: .relaxed) }
    var lastRef: UInt64 { nextRef.load(ordering: .acquiring) }

    /// The series with reference `ref`, unretained: valid while the table lives.
    @inline(__always)
    func lookup(_ ref: UInt64) -> Unmanaged<MemSeries>? {
        directoryHandle.lookup(ref)
    }

    /// A plain pointer to the reference directory, for hot loops: looking up through it
    /// touches no reference count, so threads appending concurrently don't fight over the
    /// cache line of the table object. Valid while the table lives.
    var directoryHandle: Directory { Directory(pointer: directory) }

    struct Directory: @unchecked Sendable {
        // @unchecked: a pointer to atomics; every access is an atomic load.
        fileprivate let pointer: UnsafeMutablePointer<Atomic<UInt>>

        @inline(__always)
        func lookup(_ ref: UInt64) -> Unmanaged<MemSeries>? {
            guard ref > 0, ref <= SeriesTable.maxRef else { return nil }
            let page = pointer[Int(ref >> UInt64(SeriesTable.pageBits))].load(ordering: .acquiring)
            guard let slots = UnsafeMutablePointer<Atomic<UInt>>(bitPattern: page) else { return nil }
            let slot = slots[Int(ref) & (SeriesTable.pageSize - 1)].load(ordering: .acquiring)
            guard let raw = UnsafeRawPointer(bitPattern: slot) else { return nil }
            return Unmanaged<MemSeries>.fromOpaque(raw)
        }
    }

    /// The series with these labels, created with the next reference if it does not exist.
    /// With `ref` (WAL replay), a new series gets that reference instead, and later ones
    /// continue above it; an existing series keeps its own.
    func getOrCreate(_ labels: Labels, ref wanted: UInt64? = nil) throws(TSDBError) -> (series: Unmanaged<MemSeries>, created: Bool) {
        let hash = labels.hash64
        let stripe = stripes[Int(hash % UInt64(Self.stripeCount))]
        return try stripe.maps.withLock { maps throws(TSDBError) -> (series: Unmanaged<MemSeries>, created: Bool) in
            if let s = maps.byHash[hash] {
                if s.labels == labels { return (Unmanaged.passUnretained(s), false) }
                if let c = maps.conflicts[hash]?.first(where: { $0.labels == labels }) {
                    return (Unmanaged.passUnretained(c), false)
                }
            }
            let ref: UInt64
            if let wanted {
                guard wanted > 0, wanted <= Self.maxRef else {
                    throw TSDBError(.corruption, "series reference \(wanted) outside 1...\(Self.maxRef)")
                }
                guard lookup(wanted) == nil else {
                    throw TSDBError(.corruption, "series reference \(wanted) names two label sets, \(lookup(wanted)!.takeUnretainedValue().labels) and \(labels)")
                }
                ref = wanted
                var current = nextRef.load(ordering: .relaxed)
                while current < wanted {
                    let (done, original) = nextRef.compareExchange(expected: current, desired: wanted, ordering: .relaxed)
                    if done { break }
                    current = original
                }
            } else {
                ref = nextRef.add(1, ordering: .relaxed).newValue
            }
            guard ref <= Self.maxRef else {
                throw TSDBError(.invalidArgument, "the head holds at most \(Self.maxRef) series")
            }
            let series = MemSeries(ref: ref, labels: labels, walLogged: wanted != nil)
            if maps.byHash[hash] == nil {
                maps.byHash[hash] = series
            } else {
                maps.conflicts[hash, default: []].append(series)
            }
            publish(series)
            count.add(1, ordering: .relaxed)
            return (Unmanaged.passUnretained(series), true)
        }
    }

    /// The series with these labels, if any.
    func get(_ labels: Labels) -> MemSeries? {
        let hash = labels.hash64
        return stripes[Int(hash % UInt64(Self.stripeCount))].maps.withLock { maps in
            if let s = maps.byHash[hash], s.labels == labels { return s }
            return maps.conflicts[hash]?.first(where: { $0.labels == labels })
        }
    }

    /// Series removed by earlier truncations, freed at the next one: an appender may still
    /// hold an unretained pointer to a series it looked up just before it was removed, and
    /// appenders live far shorter than the time between truncations.
    private let graveyard = Mutex<[[MemSeries]]>([])

    /// Removes series from both maps (head truncation). Their memory is kept until the
    /// truncation after next. Appends by reference to a removed series then fail with
    /// `unknownSeriesRef`, as in Prometheus.
    func remove(_ removed: [MemSeries]) {
        for series in removed {
            let hash = series.labels.hash64
            stripes[Int(hash % UInt64(Self.stripeCount))].maps.withLock { maps in
                if maps.byHash[hash] === series {
                    if var others = maps.conflicts[hash], !others.isEmpty {
                        maps.byHash[hash] = others.removeFirst()
                        maps.conflicts[hash] = others.isEmpty ? nil : others
                    } else {
                        maps.byHash[hash] = nil
                    }
                } else {
                    maps.conflicts[hash]?.removeAll { $0 === series }
                    if maps.conflicts[hash]?.isEmpty == true { maps.conflicts[hash] = nil }
                }
            }
            let page = directory[Int(series.ref >> UInt64(Self.pageBits))].load(ordering: .acquiring)
            if let slots = UnsafeMutablePointer<Atomic<UInt>>(bitPattern: page) {
                let old = slots[Int(series.ref) & (Self.pageSize - 1)].exchange(0, ordering: .acquiringAndReleasing)
                if let raw = UnsafeRawPointer(bitPattern: old) {
                    // The directory's own reference; `removed` keeps the series alive for now.
                    Unmanaged<MemSeries>.fromOpaque(raw).release()
                }
            }
            count.subtract(1, ordering: .relaxed)
        }
        graveyard.withLock { g in
            g.append(removed)
            if g.count > 2 { g.removeFirst() }
        }
    }

    private func publish(_ series: MemSeries) {
        let p = Int(series.ref >> UInt64(Self.pageBits))
        var page = directory[p].load(ordering: .acquiring)
        if page == 0 {
            page = pageLock.withLock { _ in
                let existing = directory[p].load(ordering: .acquiring)
                if existing != 0 { return existing }
                let fresh = UnsafeMutablePointer<Atomic<UInt>>.allocate(capacity: Self.pageSize)
                for i in 0..<Self.pageSize { (fresh + i).initialize(to: Atomic(0)) }
                let bits = UInt(bitPattern: fresh)
                directory[p].store(bits, ordering: .releasing)
                return bits
            }
        }
        let pointer = UnsafeMutablePointer<Atomic<UInt>>(bitPattern: page)!
        let raw = Unmanaged.passRetained(series).toOpaque()
        pointer[Int(series.ref) & (Self.pageSize - 1)].store(UInt(bitPattern: raw), ordering: .releasing)
    }
}
