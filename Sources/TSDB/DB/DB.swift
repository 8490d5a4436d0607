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
/// This version keeps everything in memory; the WAL and blocks arrive behind the same API.
public final class DB: Sendable {
    public let directory: String
    public let options: Options
    let head: Head
    private let closed = Atomic<Bool>(false)

    private init(directory: String, options: Options) {
        self.directory = directory
        self.options = options
        self.head = Head(options: ChunkOptions(chunkRange: options.blockRange, samplesPerChunk: options.samplesPerChunk, maxBytesBeforeAppend: options.xorChunkByteCap))
    }

    /// Opens (creating it if needed) the database in `directory`.
    /// - Throws: ``TSDBError/Code/invalidArgument`` for bad options or a path that is not a
    ///   directory, ``TSDBError/Code/io`` when the directory cannot be created.
    public static func open(directory: String, options: Options = Options()) throws(TSDBError) -> DB {
        let options = try options.validated()
        try FileSystem.createDirectory(directory)
        return DB(directory: directory, options: options)
    }

    /// A new transaction. See ``Appender``.
    public func appender() throws(TSDBError) -> Appender {
        try checkOpen()
        return Appender(head: head)
    }

    /// A reader over `[minTime, maxTime]`, inclusive, in milliseconds.
    public func querier(minTime: Int64, maxTime: Int64) throws(TSDBError) -> Querier {
        try checkOpen()
        guard minTime <= maxTime else {
            throw TSDBError(.invalidArgument, "querier needs minTime ≤ maxTime, got \(minTime) > \(maxTime)")
        }
        return Querier(head: head, minTime: minTime, maxTime: maxTime)
    }

    /// Number of series in the head.
    public var headSeriesCount: Int { head.series.seriesCount }

    /// Lowest and highest committed timestamps in the head, or nil while it is empty.
    public var headTimeRange: ClosedRange<Int64>? {
        let lo = head.minTime
        let hi = head.maxTime
        return lo <= hi ? lo...hi : nil
    }

    /// Closes the database. Appenders and queriers taken before keep working on memory they
    /// hold; new ones cannot be taken. Closing twice is harmless.
    public func close() throws(TSDBError) {
        closed.store(true, ordering: .releasing)
    }

    private func checkOpen() throws(TSDBError) {
        if closed.load(ordering: .acquiring) { throw TSDBError(.closed, "the database at \(directory) is closed") }
    }
}
