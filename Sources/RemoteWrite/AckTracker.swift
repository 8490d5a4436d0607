import Synchronization

/// Which WAL records are wholly acknowledged, so the saved position only ever moves past
/// samples the receiver accepted (or refused for good). Records enter in WAL order with
/// the count of samples that went to shards; shards complete samples in any order; the
/// acknowledged position is the end of the longest prefix of completed records.
/// Thread-safe.
final class AckTracker: Sendable {
    private struct Entry {
        var remaining: Int
        var end: WALPosition
    }

    private struct State {
        /// Sequence number of `entries[head]`.
        var base: UInt64 = 0
        var entries: [Entry] = []
        var head = 0
        var acknowledged: WALPosition
    }

    private let state: Mutex<State>

    init(start: WALPosition) {
        state = Mutex(State(acknowledged: start))
    }

    /// Where everything before was acknowledged.
    var acknowledged: WALPosition { state.withLock { $0.acknowledged } }

    /// Records a record ending at `end` whose `count` samples went to shards; returns its
    /// sequence number for ``complete(_:count:)``.
    func add(count: Int, end: WALPosition) -> UInt64 {
        state.withLock { st in
            let seq = st.base + UInt64(st.entries.count - st.head)
            st.entries.append(Entry(remaining: count, end: end))
            Self.advance(&st)
            return seq
        }
    }

    /// `count` samples of record `seq` were acknowledged (or refused for good).
    func complete(_ seq: UInt64, count: Int) {
        state.withLock { st in
            guard seq >= st.base else { return }
            let i = st.head + Int(seq - st.base)
            guard i < st.entries.count else { return }
            st.entries[i].remaining -= count
            Self.advance(&st)
        }
    }

    private static func advance(_ st: inout State) {
        while st.head < st.entries.count && st.entries[st.head].remaining <= 0 {
            st.acknowledged = st.entries[st.head].end
            st.head += 1
            st.base += 1
        }
        if st.head > 4096 && st.head * 2 > st.entries.count {
            st.entries.removeFirst(st.head)
            st.head = 0
        }
    }
}
