import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The database's background thread: about once a second it runs ``DB/backgroundTick()``
/// (a maintenance round when compaction is enabled, then the self-metrics), until stopped.
/// It holds the database weakly, so it never keeps a dropped database alive.
final class BackgroundThread: Sendable {
    private let flag = StopFlag()
    private let thread: SpawnedThread

    init(db: DB) {
        let weakDB = WeakBox(db)
        let flag = self.flag
        thread = spawnThread {
            while !flag.isSet {
                // Sleeps in 10 ms steps, so that stop() returns quickly.
                for _ in 0..<100 where !flag.isSet { usleep(10_000) }
                guard !flag.isSet, let db = weakDB.value else { return }
                db.backgroundTick()
            }
        }
    }

    private let joined = Atomic<Bool>(false)

    /// Stops the thread and waits for a round in progress to finish.
    func stop() {
        flag.set()
        if !joined.exchange(true, ordering: .acquiringAndReleasing) { thread.join() }
    }

    /// A database dropped without `close()`: its thread ends on its own (it finds the
    /// database gone) and is detached so that its resources are freed (ThreadSanitizer
    /// reported it as leaked).
    deinit {
        flag.set()
        if !joined.exchange(true, ordering: .acquiringAndReleasing) { thread.detach() }
    }
}
