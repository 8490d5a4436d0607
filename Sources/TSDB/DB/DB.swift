import Logging
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
/// returns, and `open` replays them. A background thread cuts the head into 2-hour blocks,
/// merges blocks and applies retention (see ``Options``); ``close()`` stops it.
///
/// `DB` is the lifecycle: it opens, locks, schedules and closes. The work is done by the
/// head (`Head/`), the blocks (`Block/`) and the maintenance round (`Compact/`).
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
    /// Problems found with the blocks on open: blocks overlapping in time (their data is
    /// still queried, identical samples once) and blocks deleted because another block holds
    /// their data (the remains of a compaction a crash interrupted).
    public let blockWarnings: [String]
    /// The persisted blocks. Queriers hold their own references.
    let blockSet: BlockSet
    let metrics: DBMetrics
    private let closed = Atomic<Bool>(false)
    /// Set when closing starts, so a background round stops between steps.
    private let closedFlag = StopFlag()
    /// One maintenance round, deletion or snapshot at a time.
    private let compactionLock = ConditionLock()
    private let background = Mutex<BackgroundThread?>(nil)
    /// Outside readers of the WAL (remote write) whose unread segments truncation keeps.
    package let walRetention = WALRetention()

    private init(directory: String, options: Options, head: Head, wal: WAL?, lock: DirectoryLock?, replayStats: ReplayStats,
                 blocks: [Block], blockWarnings: [String], metrics: DBMetrics? = nil) {
        self.directory = directory
        self.options = options
        self.head = head
        self.wal = wal
        self.lock = lock
        self.replayStats = replayStats
        self.blockSet = BlockSet(blocks)
        self.blockWarnings = blockWarnings
        self.metrics = metrics ?? DBMetrics(factory: options.metricsFactory)
    }

    /// The metadata of the blocks on disk, by start time.
    public var blocks: [BlockMeta] { blockSet.all.map(\.meta) }

    /// Opens (creating it if needed) the database in `directory`, replaying its WAL, and
    /// takes the directory's `lock` file until ``close()``.
    /// - Throws: ``TSDBError/Code/invalidArgument`` for bad options or a path that is not a
    ///   directory, ``TSDBError/Code/locked`` when another process holds the directory,
    ///   ``TSDBError/Code/io`` when files cannot be read or created, and
    ///   ``TSDBError/Code/corruption`` for a WAL damaged other than at its tail (see
    ///   ``Options/repairWAL``).
    public static func open(directory: String, options: Options = Options()) throws(TSDBError) -> DB {
        let options = try options.validated()
        try FileSystem.createDirectory(directory, sys: options.syscalls)
        let lock = try DirectoryLock(directory: directory, sys: options.syscalls)
        do throws(TSDBError) {
            let (blocks, warnings) = try BlockLoader.load(directory: directory, sys: options.syscalls)
            let head = makeHead(options: options, blocks: blocks)
            let walDirectory = DataDirectory(directory).wal
            // A checkpoint interrupted by a crash leaves a .tmp directory; replay ignores it.
            try Checkpoint.deleteTemporaryCheckpoints(walDirectory: walDirectory, sys: options.syscalls)
            var stats = try head.replay(walDirectory: walDirectory, sys: options.syscalls, repair: options.repairWAL,
                                        chunksDirectory: DataDirectory(directory).headChunks, tuning: options.replayTuning)
            stats.notes += unreadOutOfOrderData(directory, sys: options.syscalls)
            let metrics = DBMetrics(factory: options.metricsFactory)
            var walOptions = WALOptions(segmentSize: options.walSegmentSize, compression: options.walCompression, syncMode: options.walSyncMode)
            walOptions.fsyncObserver = { metrics.walFsyncDuration.recordNanoseconds(Int64($0)) }
            let wal = try WAL(directory: walDirectory, options: walOptions, sys: options.syscalls)
            let db = DB(directory: directory, options: options, head: head, wal: wal, lock: lock, replayStats: stats,
                        blocks: blocks, blockWarnings: warnings, metrics: metrics)
            db.logOpen()
            db.background.withLock { $0 = BackgroundThread(db: db) }
            return db
        } catch {
            lock.release()
            throw error
        }
    }

    /// Opens an existing database for reading only, as Prometheus's `OpenDBReadOnly`: it
    /// loads the blocks and replays the WAL into memory, takes no lock and writes nothing
    /// (a torn WAL tail is skipped, not cut; leftovers of interrupted writes stay). Works on
    /// a directory that a running process holds open. ``appender()``, ``delete(_:minTime:maxTime:)``,
    /// ``compact()`` and ``cleanTombstones()`` throw ``TSDBError/Code/readOnly``.
    /// - Throws: ``TSDBError/Code/notFound`` when `directory` does not exist,
    ///   ``TSDBError/Code/corruption`` for damaged blocks or a WAL damaged before its tail.
    public static func openReadOnly(directory: String, options: Options = Options()) throws(TSDBError) -> DB {
        var options = try options.validated()
        options.compactionEnabled = false
        guard FileSystem.isDirectory(directory, sys: options.syscalls) else {
            throw TSDBError(.notFound, "no data directory at \(directory)", location: .init(file: directory))
        }
        let (blocks, warnings) = try BlockLoader.load(directory: directory, sys: options.syscalls, readOnly: true)
        let head = makeHead(options: options, blocks: blocks)
        var stats = try head.replay(walDirectory: DataDirectory(directory).wal, sys: options.syscalls, repair: false, readOnly: true,
                                    tuning: options.replayTuning)
        stats.notes += unreadOutOfOrderData(directory, sys: options.syscalls)
        return DB(directory: directory, options: options, head: head, wal: nil, lock: nil, replayStats: stats, blocks: blocks, blockWarnings: warnings)
    }

    /// A warning when Prometheus's write-behind log (`wbl/`, out-of-order samples) holds
    /// data: this engine does not replay it yet, so those samples are not served.
    private static func unreadOutOfOrderData(_ directory: String, sys: Syscalls) -> [String] {
        let wbl = directory + "/wbl"
        guard let names = try? FileSystem.list(wbl, sys: sys) else { return [] }
        let bytes = names.reduce(Int64(0)) { $0 + (FileSystem.size(wbl + "/" + $1, sys: sys) ?? 0) }
        guard bytes > 0 else { return [] }
        return ["\(wbl) holds \(bytes) bytes of out-of-order samples (Prometheus's write-behind log): this engine does not replay it yet, so those samples are not served"]
    }

    private static func makeHead(options: Options, blocks: [Block]) -> Head {
        let head = Head(options: ChunkOptions(chunkRange: options.blockRange, samplesPerChunk: options.samplesPerChunk, maxBytesBeforeAppend: options.xorChunkByteCap))
        // Samples older than the newest block's end are in a block already: replay skips them.
        if let newest = blocks.map(\.meta.maxTime).max() { head.raiseMinValidTime(to: newest) }
        return head
    }

    private func logOpen() {
        let logger = options.logger
        for note in replayStats.notes { logger.warning("\(note)") }
        for warning in blockWarnings { logger.warning("\(warning)") }
        if replayStats.droppedBytes > 0 { metrics.compaction.walCorruptions.increment() }
        logger.debug("opened", metadata: [
            "directory": "\(directory)", "blocks": "\(blockSet.all.count)", "series": "\(replayStats.series)",
            "samples_replayed": "\(replayStats.samples)", "replay_seconds": "\(replayStats.seconds)"])
        metrics.refresh(head: head, blocks: blockSet.all, walDirectory: DataDirectory(directory).wal, sys: options.syscalls)
    }

    /// A new transaction. See ``Appender``.
    public func appender() throws(TSDBError) -> Appender {
        try checkOpen()
        guard let wal else { throw readOnlyError("append to") }
        return Appender(head: head, wal: wal, latest: options.latestAcceptedTimestamp())
    }

    /// The timestamps the engine stores, in milliseconds: -2⁶² to 2⁶² - 1, about ±146
    /// million years around 1970. An append outside fails with
    /// ``TSDBError/Code/timestampOutOfRange``.
    public static let storableTimestamps: ClosedRange<Int64> = TimestampDomain.range

    /// A reader over `[minTime, maxTime]`, inclusive, in milliseconds.
    public func querier(minTime: Int64, maxTime: Int64) throws(TSDBError) -> Querier {
        try checkOpen()
        guard minTime <= maxTime else {
            throw TSDBError(.invalidArgument, "querier needs minTime ≤ maxTime, got \(minTime) > \(maxTime)")
        }
        let blocks = blockSet.all.filter { $0.meta.minTime <= maxTime && $0.meta.maxTime > minTime }
        // Blocks cut after the querier was made are picked up at each select, so a query
        // across a cut finds every sample.
        return Querier(head: head, blocks: blocks, minTime: minTime, maxTime: maxTime) { [weak self] in
            self?.blockSet.all ?? []
        }
    }

    /// Number of series in the head.
    public var headSeriesCount: Int { head.series.seriesCount }
    /// The head's chunks, closed and open (Prometheus's `prometheus_tsdb_head_chunks`).
    package var headChunkCount: Int { head.chunkCount }

    /// Lowest and highest committed timestamps in the head, or nil while it is empty.
    public var headTimeRange: ClosedRange<Int64>? {
        let lo = head.minTime
        let hi = head.maxTime
        return lo <= hi ? lo...hi : nil
    }

    /// Closes the database: stops the background thread (waiting for a compaction in
    /// progress to finish its current block), fsyncs and closes the WAL, and releases the
    /// lock. Queriers taken before keep working on blocks they hold; appenders taken before
    /// fail to commit; new ones cannot be taken. Closing twice is harmless.
    public func close() throws(TSDBError) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        closedFlag.set()
        background.withLock { $0 }?.stop()
        metrics.refresh(head: head, blocks: blockSet.all, walDirectory: DataDirectory(directory).wal, sys: options.syscalls)
        // Blocks are unmapped when the last querier holding them goes away.
        _ = blockSet.removeAll()
        defer { lock?.release() }
        try wal?.close()
        try head.headChunks.close()
    }

    /// Runs a maintenance round now: cuts the head into blocks while it spans more than 1.5
    /// block ranges (truncating it and checkpointing the WAL), merges blocks as the planner
    /// says, and applies retention (see ``Options``). With ``Options/compactionEnabled`` the
    /// same round runs in the background about once a second. Returns the new blocks.
    @discardableResult
    public func compact() throws(TSDBError) -> [BlockMeta] {
        try checkOpen()
        guard let maintenance else { throw readOnlyError("compact") }
        return try compactionLock.withLock { () throws(TSDBError) -> [BlockMeta] in try maintenance.run() }
    }

    /// Rewrites every block that has tombstones without the deleted data, as Prometheus's
    /// `CleanTombstones`. A failure part-way (a full disk) leaves the blocks not yet rewritten
    /// as they were, with no overlapping leftovers. Returns the new blocks.
    @discardableResult
    public func cleanTombstones() throws(TSDBError) -> [BlockMeta] {
        try checkOpen()
        guard let maintenance else { throw readOnlyError("clean tombstones of") }
        return try compactionLock.withLock { () throws(TSDBError) -> [BlockMeta] in try maintenance.cleanTombstones() }
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
            for b in blockSet.all {
                try b.delete(matchers, minTime: minTime, maxTime: maxTime, sys: options.syscalls)
            }
        }
    }

    /// ``delete(_:minTime:maxTime:)`` with a PromQL selector such as `up{job="api"}`.
    public func delete(_ selector: String, minTime: Int64, maxTime: Int64) throws(TSDBError) {
        try delete(Selector.parse(selector), minTime: minTime, maxTime: maxTime)
    }

    /// Writes a consistent copy of the database into `target`, which may not hold blocks
    /// yet, while appends go on: every block is hard-linked (its files never change, except
    /// `tombstones` and `meta.json`, which are copied), and with `includeHead` the head's
    /// samples are written as one more block. The copy opens as a database of its own (its
    /// head starts empty). Waits for a running compaction. Returns the metas of the copy.
    /// - Throws: ``TSDBError/Code/invalidArgument`` when `target` is inside this directory
    ///   or already holds a block, ``TSDBError/Code/io`` for file errors (a partial copy is
    ///   removed block by block: each block lands whole or not at all).
    @discardableResult
    public func snapshot(to target: String, includeHead: Bool) throws(TSDBError) -> [BlockMeta] {
        try checkOpen()
        return try compactionLock.withLock { () throws(TSDBError) -> [BlockMeta] in
            try Snapshot.write(blocks: blockSet.all, head: includeHead ? head : nil, from: directory, to: target, sys: options.syscalls)
        }
    }

    /// The maintenance round over this database's parts; nil when read-only.
    private var maintenance: Maintenance? {
        guard let wal else { return nil }
        var settings = options.compactionSettings
        settings.walRetention = walRetention
        return Maintenance(head: head, wal: wal, blocks: blockSet, directory: directory, settings: settings, metrics: metrics.compaction)
    }

    /// One background tick: a maintenance round if compaction is on, then the metrics.
    func backgroundTick() {
        if options.compactionEnabled, !closed.load(ordering: .acquiring), var maintenance {
            maintenance.shouldStop = { [closed = self.closedFlag] in closed.isSet }
            // A failure is logged and retried next tick; the data stays in head, WAL and blocks.
            compactionLock.withLock { _ = try? maintenance.run() }
        }
        metrics.refresh(head: head, blocks: blockSet.all, walDirectory: DataDirectory(directory).wal, sys: options.syscalls)
    }

    private func readOnlyError(_ what: String) -> TSDBError {
        TSDBError(.readOnly, "cannot \(what) the database at \(directory): it was opened read-only")
    }

    private func checkOpen() throws(TSDBError) {
        if closed.load(ordering: .acquiring) { throw TSDBError(.closed, "the database at \(directory) is closed") }
    }
}
