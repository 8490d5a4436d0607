import Dispatch
import Synchronization

/// Admits at most `limit` queries at once (`--query.max-concurrency`); the rest wait in
/// arrival order until a slot frees or their deadline passes, as Prometheus's active query
/// tracker makes them wait.
final class QueryGate: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>
    let limit: Int

    init(limit: Int) {
        self.limit = Swift.max(1, limit)
        state = Mutex(State(available: Swift.max(1, limit)))
    }

    /// Queries running now.
    var running: Int { state.withLock { limit - $0.available } }
    /// Queries waiting for a slot.
    var queued: Int { state.withLock { $0.waiters.count } }

    /// Waits for a slot for at most `timeout`; false when none came in time (or the task was
    /// cancelled). A true answer must be followed by `release()`.
    func acquire(timeout: Duration) async -> Bool {
        let fast = state.withLock { s -> UInt64? in
            if s.available > 0 && s.waiters.isEmpty {
                s.available -= 1
                return nil
            }
            s.nextID += 1
            return s.nextID
        }
        guard let id = fast else { return true }
        if timeout <= .zero { return false }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if Task.isCancelled { return true }
                    if s.available > 0 && s.waiters.isEmpty {
                        s.available -= 1
                        c.resume(returning: true)
                        return false
                    }
                    s.waiters.append(Waiter(id: id, continuation: c))
                    return false
                }
                if resumeNow {
                    c.resume(returning: false)
                    return
                }
                let nanos = timeout.components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
                let total = nanos.overflow ? Int64.max : nanos.partialValue &+ timeout.components.attoseconds / 1_000_000_000
                let deadline = DispatchTime.now().uptimeNanoseconds.addingReportingOverflow(UInt64(Swift.max(0, total)))
                let when = deadline.overflow ? DispatchTime.distantFuture : DispatchTime(uptimeNanoseconds: deadline.partialValue)
                DispatchQueue.global().asyncAfter(deadline: when) { [self] in self.expire(id) }
            }
        } onCancel: {
            expire(id)
        }
    }

    private func expire(_ id: UInt64) {
        let waiter = state.withLock { s -> Waiter? in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i)
        }
        waiter?.continuation.resume(returning: false)
    }

    func release() {
        let next = state.withLock { s -> Waiter? in
            if !s.waiters.isEmpty { return s.waiters.removeFirst() }
            s.available += 1
            return nil
        }
        next?.continuation.resume(returning: true)
    }
}

/// Runs blocking work (a PromQL evaluation, a label scan) off Swift's cooperative pool, so
/// queries never starve the tasks that serve connections.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { c in
        DispatchQueue.global().async { c.resume(returning: body()) }
    }
}
