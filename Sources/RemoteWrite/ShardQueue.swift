import Synchronization
import TSDB

/// A sample on its way to the receiver, with its series' labels and the sequence number of
/// the WAL record it came from (for the ``AckTracker``).
struct QueuedSample: Sendable {
    var labels: Labels
    var ref: UInt64
    var timestamp: Int64
    var value: Double
    var record: UInt64
}

/// One shard's queue: bounded, first in first out. The WAL reader pushes, the shard's
/// sending task takes batches. Both poll (a few milliseconds) rather than park on
/// continuations, which keeps cancellation simple. Thread-safe.
final class ShardQueue: Sendable {
    enum Take {
        case batch([QueuedSample])
        /// Nothing to send yet.
        case wait
        /// Closed and empty: the shard is done.
        case finished
    }

    private struct State {
        var items: [QueuedSample] = []
        var head = 0
        /// When the oldest waiting sample was queued.
        var oldest: ContinuousClock.Instant?
        var closed = false
        var count: Int { items.count - head }
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { state.withLock { $0.count } }

    /// Queues `sample`, waiting while the queue is full. Throws on cancellation.
    func push(_ sample: QueuedSample) async throws {
        while true {
            let done = state.withLock { st -> Bool in
                guard st.count < capacity || st.closed else { return false }
                if st.count == 0 { st.oldest = .now }
                st.items.append(sample)
                return true
            }
            if done { return }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// No more pushes; what is queued is still taken.
    func close() { state.withLock { $0.closed = true } }

    /// A batch of up to `max` samples once that many are waiting, the oldest waited
    /// `deadline`, or the queue is closed.
    func take(max: Int, deadline: Duration) -> Take {
        state.withLock { st in
            let n = st.count
            if n == 0 { return st.closed ? .finished : .wait }
            let due = st.closed || n >= max || (st.oldest.map { ContinuousClock.now - $0 >= deadline } ?? true)
            guard due else { return .wait }
            let k = Swift.min(n, max)
            let batch = Array(st.items[st.head..<(st.head + k)])
            st.head += k
            if st.head == st.items.count {
                st.items.removeAll(keepingCapacity: true)
                st.head = 0
            } else if st.head > 4096 {
                st.items.removeFirst(st.head)
                st.head = 0
            }
            st.oldest = st.count > 0 ? .now : nil
            return .batch(batch)
        }
    }
}
