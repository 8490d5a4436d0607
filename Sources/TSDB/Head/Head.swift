import Synchronization

/// The in-memory head block: every series, its chunks and the inverted index.
///
/// Thread-safe. Appenders run concurrently; each commit holds the commit gate shared, so
/// many commits proceed at once. A query snapshots its series with the gate held
/// exclusively, so it sees every transaction whole or not at all.
final class Head: Sendable {
    let options: ChunkOptions
    let series = SeriesTable()
    let postings = MemPostings()
    /// Deletions not yet cut into a block; see ``HeadTombstones``.
    let tombstones = HeadTombstones()
    /// Shared by commits, exclusive for query snapshots. See the type's documentation.
    let commitGate = RWLock()
    /// Where closed chunks are written for a faster restart (`chunks_head/`, FORMAT.md §13);
    /// disabled until the replay enables it.
    let headChunks = HeadChunkDiskMapper()

    /// Lowest and highest committed timestamps; `.max`/`.min` while the head is empty.
    private let minTimeStorage = Atomic<Int64>(.max)
    private let maxTimeStorage = Atomic<Int64>(.min)
    /// Samples below this are out of bounds (raised when the head is truncated into blocks).
    private let minValidTimeStorage = Atomic<Int64>(.min)
    private let nextAppenderID = Atomic<UInt64>(0)

    let stats = HeadStats()

    /// Buffers of finished transactions, kept so the next ones do not allocate.
    private let bufferPool = Mutex<[ContiguousArray<PendingSample>]>([])

    init(options: ChunkOptions) {
        self.options = options
    }

    var minTime: Int64 { minTimeStorage.load(ordering: .acquiring) }
    var maxTime: Int64 { maxTimeStorage.load(ordering: .acquiring) }
    var minValidTime: Int64 { minValidTimeStorage.load(ordering: .acquiring) }

    /// Prometheus's `appendableMinValidTime`: nothing older than half a chunk range behind the
    /// newest sample, so a block cut from the head's old end never races an append.
    func appendableMinValidTime() -> Int64 {
        let maxT = maxTime
        guard maxT != .min else { return minValidTime }
        return Swift.max(minValidTime, maxT - options.chunkRange / 2)
    }

    /// Raises the minimum valid time (after a block was cut, or from the newest block on
    /// open); it never goes down.
    func raiseMinValidTime(to t: Int64) {
        var current = minValidTimeStorage.load(ordering: .relaxed)
        while t > current {
            let (done, original) = minValidTimeStorage.compareExchange(expected: current, desired: t, ordering: .acquiringAndReleasing)
            if done { break }
            current = original
        }
    }

    /// Sets the lowest timestamp held after a truncation (`.max` when nothing is left).
    func resetMinTime(to t: Int64) {
        minTimeStorage.store(t, ordering: .releasing)
    }

    func makeAppenderID() -> UInt64 {
        nextAppenderID.add(1, ordering: .relaxed).newValue
    }

    /// Widens the head's time range to include `[minT, maxT]`.
    func extendTimeRange(minT: Int64, maxT: Int64) {
        var current = minTimeStorage.load(ordering: .relaxed)
        while minT < current {
            let (exchanged, original) = minTimeStorage.compareExchange(
                expected: current, desired: minT, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        current = maxTimeStorage.load(ordering: .relaxed)
        while maxT > current {
            let (exchanged, original) = maxTimeStorage.compareExchange(
                expected: current, desired: maxT, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
    }

    func takeBuffer() -> ContiguousArray<PendingSample> {
        bufferPool.withLock { $0.popLast() } ?? ContiguousArray()
    }

    func returnBuffer(_ buffer: consuming ContiguousArray<PendingSample>) {
        buffer.removeAll(keepingCapacity: true)
        guard buffer.capacity <= 1 << 20 else { return }
        let b = buffer
        bufferPool.withLock { pool in
            if pool.count < 64 { pool.append(b) }
        }
    }
}

/// Counters of what the head accepted and rejected; read by metrics and tests.
final class HeadStats: Sendable {
    let samplesAppended = Atomic<Int>(0)
    let outOfOrder = Atomic<Int>(0)
    let outOfBounds = Atomic<Int>(0)
    /// Rejected as later than the clock plus ``Options/maxFutureSkew``.
    let tooFarInFuture = Atomic<Int>(0)
    let duplicates = Atomic<Int>(0)
    /// Samples that passed `append` but lost a race with another transaction at commit.
    let droppedAtCommit = Atomic<Int>(0)
    let seriesCreated = Atomic<Int>(0)
}

/// A sample waiting in an open transaction. The series pointer is unretained: the head's
/// series table keeps every series alive for the head's lifetime.
struct PendingSample: @unchecked Sendable {
    let series: Unmanaged<MemSeries>
    let timestamp: Int64
    let value: Double
}
