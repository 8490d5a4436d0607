
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts `body` on a new joinable thread (not a Dispatch worker, so a blocked thread never
/// holds up the pool).
func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        body.run()
        return nil
    }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return thread
}

private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// A bounded first-in first-out queue between threads: `push` waits while it is full,
/// `pop` while it is empty. (Not on `DispatchSemaphore`: libdispatch traps when a semaphore
/// is freed below its initial count, i.e. a queue dropped with items still in it.)
final class BlockingQueue<Element>: @unchecked Sendable {
    // @unchecked: every field is guarded by `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        mutex = .allocate(capacity: 1)
        changed = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    private var count: Int { items.count - head }

    func push(_ item: Element) {
        pthread_mutex_lock(mutex)
        while count >= capacity { pthread_cond_wait(changed, mutex) }
        items.append(item)
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// Pushes unless the queue is full; returns whether it did.
    @discardableResult
    func tryPush(_ item: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard count < capacity else { return false }
        items.append(item)
        pthread_cond_broadcast(changed)
        return true
    }

    func pop() -> Element {
        pthread_mutex_lock(mutex)
        while count == 0 { pthread_cond_wait(changed, mutex) }
        let item = take()
        pthread_mutex_unlock(mutex)
        return item
    }

    /// Pops unless the queue is empty.
    func tryPop() -> Element? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return count == 0 ? nil : take()
    }

    /// Removes the first item; the caller holds `mutex` and knows the queue is not empty.
    private func take() -> Element {
        let item = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        pthread_cond_broadcast(changed)
        return item
    }
}
