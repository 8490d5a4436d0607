#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with a condition variable over it: the engine's one mutex type. Used as a plain
/// lock (``withLock(_:)``) where nothing waits, and with ``wait()``, ``signal()`` and
/// ``broadcast()`` for a handoff between threads (the WAL's group commit, a block's
/// reference count, the replay pipeline).
///
/// ``wait()``, ``signal()`` and ``broadcast()`` are called only while the lock is held,
/// inside ``withLock(_:)`` or between ``lock()`` and ``unlock()``.
final class ConditionLock: @unchecked Sendable {
    // @unchecked: the pointers are set once; the pthread objects they hold are thread-safe.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
        let rcc = pthread_cond_init(condition, nil)
        precondition(rcc == 0, "pthread_cond_init failed: \(rcc)")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    @inline(__always)
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Takes the lock; pair with ``unlock()`` (for code that lets it go in the middle).
    @inline(__always)
    func lock() { pthread_mutex_lock(mutex) }

    @inline(__always)
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Releases the lock and sleeps until ``signal()`` or ``broadcast()`` (or a spurious
    /// wakeup: callers wait in a loop over their condition), then takes the lock again.
    @inline(__always)
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Wakes one waiting thread.
    @inline(__always)
    func signal() { pthread_cond_signal(condition) }

    /// Wakes every waiting thread.
    @inline(__always)
    func broadcast() { pthread_cond_broadcast(condition) }
}
