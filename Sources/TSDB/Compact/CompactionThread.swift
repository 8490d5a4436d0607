import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The background thread that runs ``DB/compact()`` about once a second until stopped.
/// It holds the database weakly, so it never keeps a dropped database alive.
final class CompactionThread: Sendable {
    private let flag = StopFlag()
    private let thread: UncheckedBox<pthread_t>

    init(db: DB) {
        let weakDB = WeakBox(db)
        let flag = self.flag
        thread = UncheckedBox(spawnThread {
            while !flag.isSet {
                for _ in 0..<10 where !flag.isSet { usleep(100_000) }
                guard !flag.isSet, let db = weakDB.value else { return }
                // A failure is retried next round; the data stays in the head and WAL.
                _ = try? db.compact()
            }
        })
    }

    /// Stops the thread and waits for a compaction in progress to finish.
    func stop() {
        flag.set()
        pthread_join(thread.value, nil)
    }
}

final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

final class WeakBox<T: AnyObject>: @unchecked Sendable {
    // @unchecked: a weak reference; reads and the release race only as Swift's weak
    // references allow, which is safe.
    weak var value: T?
    init(_ value: T) { self.value = value }
}
