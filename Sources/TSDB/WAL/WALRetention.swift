import Synchronization

/// Readers of the WAL that tail it from outside the engine (a remote-write sender) and ask
/// truncation to keep the segments they have not read yet. The one hook between them and
/// ``HeadCompaction/truncateWAL``: each registered reader reports the lowest segment it
/// still needs; a checkpoint then stops below it, unless the reader is more than its
/// `maxRetainedSegments` behind the newest segment, in which case truncation goes ahead
/// (the reader loses those segments and counts what it dropped). Deletion's full
/// truncation (``HeadCompaction/forgetBelowMinValidTime``) is never held back: deleted
/// samples must not come back on replay.
///
/// Thread-safe. Nothing here is written to disk.
package final class WALRetention: Sendable {
    /// One registered reader; it stays registered until ``WALRetention/remove(_:)``.
    package struct Token: Sendable, Hashable { let id: Int }

    private struct Reader {
        var maxRetainedSegments: Int
        var lowestNeeded: @Sendable () -> Int?
    }

    private struct State {
        var next = 0
        var readers: [Int: Reader] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// Registers a reader. `lowestNeeded` is called from the maintenance thread during a
    /// truncation and must not block; it returns the lowest segment index the reader still
    /// needs, or nil when it needs none (not started, or caught up and fine to lose them).
    package func register(maxRetainedSegments: Int, lowestNeeded: @escaping @Sendable () -> Int?) -> Token {
        state.withLock { st in
            st.next += 1
            st.readers[st.next] = Reader(maxRetainedSegments: Swift.max(0, maxRetainedSegments), lowestNeeded: lowestNeeded)
            return Token(id: st.next)
        }
    }

    package func remove(_ token: Token) {
        _ = state.withLock { $0.readers.removeValue(forKey: token.id) }
    }

    /// The lowest segment that must survive a truncation while `current` is the segment
    /// being written, or nil when no reader holds any back. Each reader holds back at most
    /// its `maxRetainedSegments` segments below `current`.
    package func lowestRetained(current: Int) -> Int? {
        let readers = state.withLock { Array($0.readers.values) }
        var lowest: Int?
        for reader in readers {
            guard let needed = reader.lowestNeeded() else { continue }
            let floor = current - reader.maxRetainedSegments
            let kept = Swift.max(needed, floor)
            lowest = lowest.map { Swift.min($0, kept) } ?? kept
        }
        return lowest
    }
}
