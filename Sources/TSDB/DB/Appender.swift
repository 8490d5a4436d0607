/// A transaction of appends. Nothing it appends is visible to queries before ``commit()``,
/// and a commit becomes visible whole.
///
/// `Appender` is `~Copyable` and ``commit()`` and ``rollback()`` consume it, so using an
/// appender after it has finished is a compile-time error. One appender belongs to one
/// thread at a time; run as many appenders concurrently as you like.
///
/// Each `append` checks the sample at once and throws if it is rejected; a rejected sample
/// does not affect the rest of the transaction. `append` does not allocate on the fast path
/// (a known ``SeriesRef``): the transaction's buffer is reused from earlier transactions.
///
/// An appender dropped without commit or rollback is rolled back: its samples are discarded.
public struct Appender: ~Copyable, @unchecked Sendable {
    // @unchecked: `pending` holds unretained series pointers, kept alive by `head`.
    private let head: Head
    private let wal: WAL
    /// The series directory, looked up without touching `head`'s reference count.
    private let directory: SeriesTable.Directory
    private let id: UInt64
    /// The timestamps this transaction accepts: from the head's minimum valid time to the
    /// wall clock plus ``Options/maxFutureSkew``, read when the appender is made.
    private let window: TimestampWindow
    private var pending: ContiguousArray<PendingSample>
    /// Series of this transaction that may still lack a series record in the WAL.
    private var unlogged: [Unmanaged<MemSeries>] = []

    /// `latest` is the newest timestamp accepted (the clock plus the allowed skew), nil for
    /// no limit but ``TimestampDomain``.
    init(head: Head, wal: WAL, latest: Int64?) {
        self.head = head
        self.wal = wal
        self.directory = head.series.directoryHandle
        self.id = head.makeAppenderID()
        self.window = TimestampWindow(lower: head.appendableMinValidTime(), upper: latest ?? TimestampDomain.max)
        self.pending = head.takeBuffer()
    }

    /// Appends a sample to the series with these labels, creating the series if needed.
    /// Returns the series' reference for the faster ``append(_:timestamp:value:)-(SeriesRef,_,_)``.
    /// - Throws: ``TSDBError/Code/outOfOrderSample``, ``TSDBError/Code/duplicateSampleForTimestamp``,
    ///   ``TSDBError/Code/outOfBounds``, ``TSDBError/Code/tooFarInFuture``,
    ///   ``TSDBError/Code/timestampOutOfRange``.
    @discardableResult
    public mutating func append(_ labels: Labels, timestamp: Int64, value: Double) throws(TSDBError) -> SeriesRef {
        if !window.contains(timestamp) { throw rejected(timestamp) }
        let (series, created) = try head.series.getOrCreate(labels)
        if created { head.stats.seriesCreated.add(1, ordering: .relaxed) }
        try append(series, timestamp: timestamp, value: value)
        return SeriesRef(rawValue: series._withUnsafeGuaranteedRef { $0.ref })
    }

    /// Appends a sample to the series `ref` names: the fast path, one lookup and no hashing.
    /// - Throws: ``TSDBError/Code/unknownSeriesRef`` if no series has this reference, and the
    ///   errors of ``append(_:timestamp:value:)-(Labels,_,_)``.
    @discardableResult
    @inline(__always)
    public mutating func append(_ ref: SeriesRef, timestamp: Int64, value: Double) throws(TSDBError) -> SeriesRef {
        guard let series = directory.lookup(ref.rawValue) else {
            throw TSDBError(.unknownSeriesRef, "no series has reference \(ref.rawValue)")
        }
        if !window.contains(timestamp) { throw rejected(timestamp) }
        try append(series, timestamp: timestamp, value: value)
        return ref
    }

    @inline(__always)
    private mutating func append(_ series: Unmanaged<MemSeries>, timestamp: Int64, value: Double) throws(TSDBError) {
        let id = self.id
        let verdict = series._withUnsafeGuaranteedRef {
            $0.check(timestamp: timestamp, valueBits: value.bitPattern, appender: id)
        }
        switch verdict {
        case .accept:
            pending.append(PendingSample(series: series, timestamp: timestamp, value: value))
            if !series._withUnsafeGuaranteedRef({ $0.walLogged.load(ordering: .relaxed) }) {
                unlogged.append(series)
            }
        case .duplicateSameValue:
            head.stats.duplicates.add(1, ordering: .relaxed)
        case .outOfOrder(let newest):
            head.stats.outOfOrder.add(1, ordering: .relaxed)
            throw TSDBError(.outOfOrderSample, "out of order sample: timestamp \(timestamp) is older than the series' newest, \(newest), for \(series.takeUnretainedValue().labels)")
        case .duplicateDifferentValue:
            head.stats.outOfOrder.add(1, ordering: .relaxed)
            throw TSDBError(.duplicateSampleForTimestamp, "duplicate sample for timestamp \(timestamp) with a different value, for \(series.takeUnretainedValue().labels)")
        }
    }

    /// The error for a timestamp outside ``window``, counted as Prometheus counts it.
    private func rejected(_ timestamp: Int64) -> TSDBError {
        if !TimestampDomain.contains(timestamp) {
            return TSDBError(.timestampOutOfRange, "timestamp \(timestamp) is outside the storable range \(TimestampDomain.min)...\(TimestampDomain.max) ms")
        }
        if timestamp > window.upper {
            head.stats.tooFarInFuture.add(1, ordering: .relaxed)
            return TSDBError(.tooFarInFuture, "too far in the future: timestamp \(timestamp) is later than \(window.upper), the clock plus the allowed skew (Options.maxFutureSkew)")
        }
        head.stats.outOfBounds.add(1, ordering: .relaxed)
        return TSDBError(.outOfBounds, "out of bounds: timestamp \(timestamp) is older than the head's minimum valid time \(window.lower)")
    }

    /// Moves the buffer out, so that it is uniquely referenced and can be reused.
    private mutating func takePending() -> ContiguousArray<PendingSample> {
        var buffer = ContiguousArray<PendingSample>()
        swap(&buffer, &pending)
        return buffer
    }

    /// Number of samples waiting for commit.
    public var pendingCount: Int { pending.count }

    /// Writes the transaction to the WAL, then makes every appended sample visible at once.
    /// When it returns, the transaction has reached the kernel with write(2) (and stable
    /// storage with ``WALSyncMode/everyCommit``), so it survives a crash of the process.
    /// A sample that lost a race with another transaction committing to the same series in
    /// the meantime, or that a block cut since ``append`` made too old, is dropped and
    /// counted.
    /// - Throws: ``TSDBError/Code/io`` when the WAL cannot be written; the transaction is
    ///   then rolled back and nothing of it is in the log or visible.
    public consuming func commit() throws(TSDBError) {
        let buffer = takePending()
        defer { head.returnBuffer(buffer) }
        try head.commit(buffer, unlogged: unlogged, wal: wal, appender: id)
    }

    /// Discards every appended sample.
    public consuming func rollback() {
        let buffer = takePending()
        head.rollback(buffer, appender: id)
        head.returnBuffer(buffer)
    }
}
