import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A time-series database in a directory: the entry point of the engine.
///
/// Thread-safe and synchronous. Open it once per directory, take ``appender()``s from any
/// thread to write and ``querier(minTime:maxTime:)``s to read, and ``close()`` it at the end.
///
/// ```swift
/// let db = try DB.open(directory: "data")
/// var app = try db.appender()
/// try app.append(Labels(["__name__": "up", "job": "api"]), timestamp: 1_000, value: 1)
/// try app.commit()
/// for series in try db.querier(minTime: 0, maxTime: 2_000).select("up") {
///     print(series.labels, series.samples)
/// }
/// try db.close()
/// ```
///
/// Committed samples are in the write-ahead log in `directory/wal` before ``Appender/commit()``
/// returns, and `open` replays them. Blocks on disk arrive behind the same API.
public final class DB: Sendable {
    public let directory: String
    public let options: Options
    let head: Head
    /// nil when opened read-only.
    let wal: WAL?
    /// The directory's `lock`, held while open; nil when opened read-only.
    private let lock: DirectoryLock?
    /// Whether this database was opened with ``openReadOnly(directory:options:)``.
    public var isReadOnly: Bool { wal == nil }
    /// What opening replayed from the WAL, and any repair it made.
    public let replayStats: ReplayStats
    /// Problems found with the blocks on open, such as blocks overlapping in time (their
    /// data is still queried, identical samples once).
    public let blockWarnings: [String]
    /// The persisted blocks, by start time. Queriers hold their own references.
    private let loadedBlocks: Mutex<[Block]>
    private let closed = Atomic<Bool>(false)
    /// One compaction at a time, whether background or ``compact()``.
    private let compactionLock = Lock()
    private let compactor = Mutex<CompactionThread?>(nil)

    private init(directory: String, options: Options, head: Head, wal: WAL?, lock: DirectoryLock?, replayStats: ReplayStats, blocks: [Block], blockWarnings: [String]) {
        self.directory = directory
        self.options = options
        self.head = head
        self.wal = wal
        self.lock = lock
        self.replayStats = replayStats
        self.loadedBlocks = Mutex(blocks)
        self.blockWarnings = blockWarnings
    }

    /// The metadata of the blocks on disk, by start time.
    public var blocks: [BlockMeta] { loadedBlocks.withLock { $0.map(\.meta) } }

    /// Opens (creating it if needed) the database in `directory`, replaying its WAL, and
    /// takes the directory's `lock` file until ``close()``.
    /// - Throws: ``TSDBError/Code/invalidArgument`` for bad options or a path that is not a
    ///   directory, ``TSDBError/Code/locked`` when another process holds the directory,
    ///   ``TSDBError/Code/io`` when files cannot be read or created, and
    ///   ``TSDBError/Code/corruption`` for a WAL damaged other than at its tail (see
    ///   ``Options/repairWAL``).
    public static func open(directory: String, options: Options = Options()) throws(TSDBError) -> DB {
        let options = try options.validated()
        try FileSystem.createDirectory(directory)
        let lock = try DirectoryLock(directory: directory, sys: options.syscalls)
        do throws(TSDBError) {
            let (blocks, warnings) = try BlockLoader.load(directory: directory, sys: options.syscalls)
            let head = makeHead(options: options, blocks: blocks)
            let walDirectory = directory + "/wal"
            // A checkpoint interrupted by a crash leaves a .tmp directory; replay ignores it.
            try Checkpoint.deleteTemporaryCheckpoints(walDirectory: walDirectory, sys: options.syscalls)
            let stats = try head.replay(walDirectory: walDirectory, sys: options.syscalls, repair: options.repairWAL,
                                        chunksDirectory: directory + "/chunks_head")
            let wal = try WAL(
                directory: walDirectory,
                options: WALOptions(segmentSize: options.walSegmentSize, compression: options.walCompression, syncMode: options.walSyncMode),
                sys: options.syscalls)
            let db = DB(directory: directory, options: options, head: head, wal: wal, lock: lock, replayStats: stats, blocks: blocks, blockWarnings: warnings)
            if options.compactionEnabled {
                db.compactor.withLock { $0 = CompactionThread(db: db) }
            }
            return db
        } catch {
            lock.release()
            throw error
        }
    }

    /// Opens an existing database for reading only, as Prometheus's `OpenDBReadOnly`: it
    /// loads the blocks and replays the WAL into memory, takes no lock and writes nothing
    /// (a torn WAL tail is skipped, not cut; leftovers of interrupted writes stay). Works on
    /// a directory that a running process holds open. ``appender()`` and ``compact()``
    /// throw ``TSDBError/Code/readOnly``.
    /// - Throws: ``TSDBError/Code/notFound`` when `directory` does not exist,
    ///   ``TSDBError/Code/corruption`` for damaged blocks or a WAL damaged before its tail.
    public static func openReadOnly(directory: String, options: Options = Options()) throws(TSDBError) -> DB {
        var options = try options.validated()
        options.compactionEnabled = false
        guard FileSystem.isDirectory(directory) else {
            throw TSDBError(.notFound, "no data directory at \(directory)", location: .init(file: directory))
        }
        let (blocks, warnings) = try BlockLoader.load(directory: directory, sys: options.syscalls, readOnly: true)
        let head = makeHead(options: options, blocks: blocks)
        let stats = try head.replay(walDirectory: directory + "/wal", sys: options.syscalls, repair: false, readOnly: true)
        return DB(directory: directory, options: options, head: head, wal: nil, lock: nil, replayStats: stats, blocks: blocks, blockWarnings: warnings)
    }

    private static func makeHead(options: Options, blocks: [Block]) -> Head {
        let head = Head(options: ChunkOptions(chunkRange: options.blockRange, samplesPerChunk: options.samplesPerChunk, maxBytesBeforeAppend: options.xorChunkByteCap))
        // Samples older than the newest block's end are in a block already: replay skips them.
        if let newest = blocks.map(\.meta.maxTime).max() { head.raiseMinValidTime(to: newest) }
        return head
    }

    /// A new transaction. See ``Appender``.
    public func appender() throws(TSDBError) -> Appender {
        try checkOpen()
        guard let wal else { throw readOnlyError("append to") }
        return Appender(head: head, wal: wal)
    }

    /// A reader over `[minTime, maxTime]`, inclusive, in milliseconds.
    public func querier(minTime: Int64, maxTime: Int64) throws(TSDBError) -> Querier {
        try checkOpen()
        guard minTime <= maxTime else {
            throw TSDBError(.invalidArgument, "querier needs minTime ≤ maxTime, got \(minTime) > \(maxTime)")
        }
        let blocks = loadedBlocks.withLock { all in
            all.filter { $0.meta.minTime <= maxTime && $0.meta.maxTime > minTime }
        }
        // Blocks cut after the querier was made are picked up at each select, so a query
        // across a cut finds every sample.
        return Querier(head: head, blocks: blocks, minTime: minTime, maxTime: maxTime) { [weak self] in
            self?.loadedBlocks.withLock { $0 } ?? []
        }
    }

    /// Number of series in the head.
    public var headSeriesCount: Int { head.series.seriesCount }

    /// Lowest and highest committed timestamps in the head, or nil while it is empty.
    public var headTimeRange: ClosedRange<Int64>? {
        let lo = head.minTime
        let hi = head.maxTime
        return lo <= hi ? lo...hi : nil
    }

    /// Closes the database: fsyncs and closes the WAL. Queriers taken before keep working
    /// on memory they hold; appenders taken before fail to commit; new ones cannot be taken.
    /// Closing twice is harmless.
    public func close() throws(TSDBError) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        compactor.withLock { $0 }?.stop()
        // Blocks are unmapped when the last querier holding them goes away.
        loadedBlocks.withLock { $0.removeAll() }
        defer { lock?.release() }
        try wal?.close()
        try head.headChunks.close()
    }

    /// Cuts the head into blocks while it spans more than 1.5 block ranges, truncates it and
    /// checkpoints the WAL (see ``Options/blockRange``). With ``Options/compactionEnabled``
    /// this also runs by itself in the background, every second. Returns the new blocks.
    @discardableResult
    public func compact() throws(TSDBError) -> [BlockMeta] {
        try checkOpen()
        guard let wal else { throw readOnlyError("compact") }
        return try compactionLock.withLock { () throws(TSDBError) -> [BlockMeta] in
            try HeadCompaction.run(head: head, wal: wal, directory: directory, options: options) { block in
                loadedBlocks.withLock { all in
                    all.append(block)
                    all.sort { ($0.meta.minTime, $0.meta.ulid) < ($1.meta.minTime, $1.meta.ulid) }
                }
            }
        }
    }

    /// Deletes the samples in `[minTime, maxTime]` (inclusive, ms) of the series matching
    /// every matcher, from the head and every block; later queries no longer see them.
    ///
    /// In the head the deletion is a WAL `tombstones` record plus tombstones in memory, so it
    /// survives a restart; it covers the samples there now (samples appended later into the
    /// range stay visible). In a block, its `tombstones` file and `meta.json` are replaced
    /// crash-safely. The data stays on disk until it is compacted away or
    /// ``cleanTombstones()`` rewrites the block. Waits for a running compaction.
    /// - Throws: ``TSDBError/Code/invalidArgument`` for no matchers or `minTime > maxTime`,
    ///   ``TSDBError/Code/readOnly``, ``TSDBError/Code/io`` when the WAL or a file cannot be
    ///   written (what was deleted before the failure stays deleted).
    public func delete(_ matchers: [Matcher], minTime: Int64, maxTime: Int64) throws(TSDBError) {
        try checkOpen()
        guard let wal else { throw readOnlyError("delete from") }
        guard !matchers.isEmpty else { throw TSDBError(.invalidArgument, "delete needs at least one matcher") }
        guard minTime <= maxTime else {
            throw TSDBError(.invalidArgument, "delete needs minTime ≤ maxTime, got \(minTime) > \(maxTime)")
        }
        try compactionLock.withLock { () throws(TSDBError) in
            try head.delete(head.deletionStones(matchers, minTime: minTime, maxTime: maxTime), wal: wal)
            for b in loadedBlocks.withLock({ $0 }) {
                try b.delete(matchers, minTime: minTime, maxTime: maxTime, sys: options.syscalls)
            }
        }
    }

    /// ``delete(_:minTime:maxTime:)`` with a PromQL selector such as `up{job="api"}`.
    public func delete(_ selector: String, minTime: Int64, maxTime: Int64) throws(TSDBError) {
        try delete(Selector.parse(selector), minTime: minTime, maxTime: maxTime)
    }

    private func readOnlyError(_ what: String) -> TSDBError {
        TSDBError(.readOnly, "cannot \(what) the database at \(directory): it was opened read-only")
    }

    private func checkOpen() throws(TSDBError) {
        if closed.load(ordering: .acquiring) { throw TSDBError(.closed, "the database at \(directory) is closed") }
    }
}

