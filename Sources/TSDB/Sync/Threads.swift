
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts `body` on a new joinable thread (not a Dispatch worker, so a blocked thread never
/// holds up the pool).
func spawnThread(_ body: @escaping @Sendable () -> Void) -> SpawnedThread {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        body.run()
        return nil
    }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return SpawnedThread(thread: thread)
}

/// A thread started by ``spawnThread(_:)``: join it or detach it, once.
struct SpawnedThread: @unchecked Sendable {
    // @unchecked: a thread handle, passed to join or detach by its one owner.
    fileprivate let thread: pthread_t

    /// Waits for the thread to end.
    func join() { pthread_join(thread, nil) }

    /// Lets the thread end on its own and free its resources then.
    func detach() { pthread_detach(thread) }
}

private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// A bounded first-in first-out queue between threads: `push` waits while it is full,
/// `pop` while it is empty. (Not on `DispatchSemaphore`: libdispatch traps when a semaphore
/// is freed below its initial count, i.e. a queue dropped with items still in it.)
final class BlockingQueue<Element>: @unchecked Sendable {
    // @unchecked: every field is guarded by `changed`.
    private let changed = ConditionLock()
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    private var count: Int { items.count - head }

    func push(_ item: Element) {
        changed.withLock {
            while count >= capacity { changed.wait() }
            items.append(item)
            changed.broadcast()
        }
    }

    /// Pushes unless the queue is full; returns whether it did.
    @discardableResult
    func tryPush(_ item: Element) -> Bool {
        changed.withLock {
            guard count < capacity else { return false }
            items.append(item)
            changed.broadcast()
            return true
        }
    }

    func pop() -> Element {
        changed.withLock {
            while count == 0 { changed.wait() }
            return take()
        }
    }

    /// Pops unless the queue is empty.
    func tryPop() -> Element? {
        changed.withLock { count == 0 ? nil : take() }
    }

    /// Removes the first item; the caller holds `changed` and knows the queue is not empty.
    private func take() -> Element {
        let item = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        changed.broadcast()
        return item
    }
}
