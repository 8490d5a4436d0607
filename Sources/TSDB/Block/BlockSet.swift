import Synchronization

/// The blocks a database serves, by start time then ULID. Queriers take a snapshot; the
/// maintenance thread adds compacted blocks before it removes their parents, so a query
/// always finds every sample in at least one block of its snapshot (or in the head).
///
/// Thread-safe; every call holds the lock only to copy or swap the array.
final class BlockSet: Sendable {
    private let blocks: Mutex<[Block]>
    /// Blocks taken out of the set whose directories a failed deletion left on disk (as
    /// `<ulid>` or `<ulid>.tmp-for-deletion`); the next maintenance round deletes them.
    private let undeleted = Mutex<Set<ULID>>([])

    init(_ blocks: [Block]) {
        self.blocks = Mutex(blocks.sorted(by: Self.order))
    }

    /// The blocks now.
    var all: [Block] { blocks.withLock { $0 } }

    /// Adds `block`.
    func add(_ block: Block) {
        blocks.withLock { all in
            all.append(block)
            all.sort(by: Self.order)
        }
    }

    /// Removes the blocks named in `ulids` and returns them, so the caller can close them
    /// (which waits for their queries) and delete their directories.
    @discardableResult
    func remove(_ ulids: Set<ULID>) -> [Block] {
        blocks.withLock { all in
            let gone = all.filter { ulids.contains($0.meta.ulid) }
            all.removeAll { ulids.contains($0.meta.ulid) }
            return gone
        }
    }

    /// Notes that the directory of `ulid`, no longer in the set, is still to be deleted.
    func deletionFailed(_ ulid: ULID) { _ = undeleted.withLock { $0.insert(ulid) } }

    /// The blocks whose deletion failed and is still to be retried.
    var pendingDeletions: Set<ULID> { undeleted.withLock { $0 } }

    /// Notes that the directory of `ulid` is gone.
    func deletionDone(_ ulid: ULID) { _ = undeleted.withLock { $0.remove(ulid) } }

    /// Removes and returns every block.
    func removeAll() -> [Block] {
        blocks.withLock { all in
            defer { all.removeAll() }
            return all
        }
    }

    private static func order(_ a: Block, _ b: Block) -> Bool {
        (a.meta.minTime, a.meta.ulid) < (b.meta.minTime, b.meta.ulid)
    }
}
