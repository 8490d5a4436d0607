import Dispatch
import Synchronization

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
/// `pop` while it is empty.
final class BlockingQueue<Element>: @unchecked Sendable {
    // @unchecked: `items` is guarded by `lock`; the semaphores count free and used slots.
    private let lock = Lock()
    private var items: [Element] = []
    private var head = 0
    private let free: DispatchSemaphore
    private let used = DispatchSemaphore(value: 0)

    init(capacity: Int) { free = DispatchSemaphore(value: capacity) }

    func push(_ item: Element) {
        free.wait()
        lock.withLock { items.append(item) }
        used.signal()
    }

    func pop() -> Element {
        used.wait()
        let item = lock.withLock { () -> Element in
            let item = items[head]
            head += 1
            if head > 64 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return item
        }
        free.signal()
        return item
    }
}
