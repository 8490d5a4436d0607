import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct WALOptions: Sendable {
    var segmentSize = WALFormat.defaultSegmentSize
    var compression = WALCompression.snappy
    var syncMode = WALSyncMode.onSegmentCut
    /// Told the duration of every fsync of a segment, in nanoseconds (for self-metrics).
    var fsyncObserver: (@Sendable (_ nanoseconds: UInt64) -> Void)? = nil
}

/// The write side of the write-ahead log: Prometheus's `wlog.WL`, byte for byte
/// (FORMAT.md §6.2–6.4). Records go into 32 KiB pages; a record that does not fit in the page
/// is split into fragments; a record that does not fit in the segment starts a new segment.
///
/// Thread-safe. ``log(_:leading:onFailure:)`` returns once its records reached the kernel
/// with write(2) (and, with ``WALSyncMode/everyCommit``, stable storage). A failed write
/// leaves no partial record behind for later ones to sit after: the log is truncated back
/// to where the call began, and writing continues in a new segment (FORMAT.md §6.7).
final class WAL: @unchecked Sendable {
    // @unchecked: every mutable field below is guarded by `lock`, except the atomics, the
    // page memory, which only the lock holder touches, and `syncing`, guarded by `gate`.
    // `gate` is always taken before `lock`, never while holding it.
    let directory: String
    let options: WALOptions
    let sys: Syscalls

    private typealias Prepared = (bytes: [UInt8], flag: UInt8)

    private let lock = ConditionLock()
    private var segment: OpenFile?
    private(set) var segmentIndex: Int
    private let page: UnsafeMutableRawBufferPointer
    private var alloc = 0
    private var flushed = 0
    private var donePages = 0
    private var isClosed = false
    /// Leading (series) records of calls that failed: the next call writes them first, so
    /// that a later sample of such a series never reaches the log without its series record.
    private var requeued: [Prepared] = []

    // Durability bookkeeping for `.everyCommit` (group commit).
    /// Number of successful ``log(_:leading:onFailure:)`` calls.
    private var writeSeq: UInt64 = 0
    /// How many of them are durable. Advanced only by the sync leader and `close`.
    private let syncedSeq = Atomic<UInt64>(0)
    /// Calls whose records an fsync failure removed from the log; `failedHigh` is the
    /// highest of them, so the lock-free fast path can tell it need not look.
    private var failedRanges: [ClosedRange<UInt64>] = []
    private let failedHigh = Atomic<UInt64>(0)
    /// Where the durable part of the log ends.
    private var syncedPosition: (segment: Int, offset: Int64)
    /// Whether a leader is fsyncing (or `close` is running); guarded by `gate`.
    private var syncing = false
    private let gate = ConditionLock()
    /// Finished segments not fsynced yet, oldest first.
    private var unsyncedSegments: [OpenFile] = []
    /// Leading records written by calls that are not durable yet.
    private var unsyncedLeads: [(seq: UInt64, records: [Prepared])] = []

    /// Finishes segments in the background with `.onSegmentCut`: fsync, then close.
    private let finisher = DispatchQueue(label: "tsdb.wal.finish")
    private let finishError = Mutex<TSDBError?>(nil)

    private var pagesPerSegment: Int { options.segmentSize / WALFormat.pageSize }

    /// Opens the WAL in `directory` for writing, in a new segment after the last one there
    /// (as Prometheus does; replay and repair come first).
    init(directory: String, options: WALOptions, sys: Syscalls) throws(TSDBError) {
        guard options.segmentSize >= WALFormat.pageSize, options.segmentSize % WALFormat.pageSize == 0 else {
            throw TSDBError(.invalidArgument, "WAL segment size must be a positive multiple of \(WALFormat.pageSize), got \(options.segmentSize)")
        }
        self.directory = directory
        self.options = options
        self.sys = sys
        page = .allocate(byteCount: WALFormat.pageSize, alignment: 16)
        page.initializeMemory(as: UInt8.self, repeating: 0)
        try FileSystem.createDirectory(directory, sys: sys)
        segmentIndex = (try WALFormat.segments(in: directory, sys: sys).last).map { $0 + 1 } ?? 0
        syncedPosition = (segmentIndex, 0)
        segment = try createSegment(segmentIndex)
    }

    deinit {
        page.deallocate()
    }

    private func segmentPath(_ index: Int) -> String { directory + "/" + WALFormat.segmentName(index) }

    private func createSegment(_ index: Int) throws(TSDBError) -> OpenFile {
        let file = try OpenFile.open(segmentPath(index), flags: O_WRONLY | O_CREAT | O_APPEND, sys: sys)
        if options.syncMode == .everyCommit { try FileSystem.syncDirectory(directory, sys: sys) }
        return file
    }

    /// Compresses a record as configured; returns the bytes to store and the header flag.
    private func prepare(_ record: [UInt8]) -> Prepared {
        guard !record.isEmpty else { return (record, 0) }
        switch options.compression {
        case .none:
            return (record, 0)
        case .snappy:
            let c = Snappy.compress(record)
            return c.count < record.count ? (c, WALFormat.snappyFlag) : (record, 0)
        case .lz4:
            var w = ByteWriter(capacity: record.count / 2 + 16)
            w.writeUvarint(UInt64(record.count))
            w.writeBytes(LZ4.compress(record))
            return w.count < record.count ? (w.bytes, WALFormat.lz4Flag) : (record, 0)
        }
    }

    /// Writes `records` as one batch: all of them reach the kernel, or the call throws
    /// ``TSDBError/Code/io`` and none of them stays in the log. Records are compressed
    /// before the lock is taken. With `.everyCommit` the call also waits for an fsync that
    /// covers the batch; if that fsync fails, every batch it was to cover is cut from the
    /// log and its call throws.
    ///
    /// `leading`, if given, runs under the WAL's lock and returns a record to write first;
    /// the head uses it for series records, so that no sample of a new series can reach
    /// the log before its series record. If the call fails, that record is written ahead of
    /// the next call's records instead. `onFailure` runs on the calling thread before the
    /// call throws (under the lock, unless the failure was the fsync).
    func log(_ records: [[UInt8]], leading: (() -> [UInt8]?)? = nil, onFailure: (() -> Void)? = nil) throws(TSDBError) {
        guard !records.isEmpty else { return }
        let prepared = records.map(prepare)
        let seq = try lock.withLock { () throws(TSDBError) -> UInt64 in
            guard !isClosed else { throw TSDBError(.closed, "the WAL in \(directory) is closed") }
            var leads = requeued
            if let lead = leading?() { leads.append(prepare(lead)) }
            if segment == nil {
                // An earlier failure could not open a fresh segment; try again.
                do throws(TSDBError) { try startSegment(segmentIndex + 1) } catch {
                    requeued = leads
                    onFailure?()
                    throw error
                }
            }
            let start = (segment: segmentIndex, offset: Int64(donePages * WALFormat.pageSize + flushed))
            do throws(TSDBError) {
                let all = leads + prepared
                for (i, r) in all.enumerated() {
                    try logRecord(r.bytes, flag: r.flag, final: i == all.count - 1)
                }
            } catch {
                requeued = leads
                onFailure?()
                undo(to: start)
                throw error
            }
            requeued = []
            writeSeq += 1
            if options.syncMode == .everyCommit && !leads.isEmpty { unsyncedLeads.append((writeSeq, leads)) }
            return writeSeq
        }
        guard options.syncMode == .everyCommit else { return }
        do throws(TSDBError) { try sync(upTo: seq) } catch {
            onFailure?()
            throw error
        }
    }

    /// Prometheus's `log`: cut the segment if the record does not fit, then fill pages. A
    /// record larger than a whole segment gets a segment of its own, longer than the
    /// segment size, as in Prometheus.
    private func logRecord(_ rec: [UInt8], flag: UInt8, final: Bool) throws(TSDBError) {
        if pageIsFull { try flushPage(clear: true) }
        var left = WALFormat.pageSize - alloc - WALFormat.headerSize
        left += (WALFormat.pageSize - WALFormat.headerSize) * (pagesPerSegment - donePages - 1)
        if rec.count > left { try nextSegment() }

        var offset = 0
        var first = true
        repeat {
            let n = min(rec.count - offset, WALFormat.pageSize - alloc - WALFormat.headerSize)
            let whole = first && n == rec.count
            let type: UInt8 = whole ? WALFormat.full : (offset + n == rec.count ? WALFormat.last : (first ? WALFormat.first : WALFormat.middle))
            let header = page.baseAddress! + alloc
            rec.withUnsafeBytes { src in
                let part = UnsafeRawBufferPointer(rebasing: src[offset..<(offset + n)])
                let crc = CRC32C.checksum(part)
                header.storeBytes(of: type | flag, as: UInt8.self)
                header.storeBytes(of: UInt16(n).bigEndian, toByteOffset: 1, as: UInt16.self)
                header.storeBytes(of: crc.bigEndian, toByteOffset: 3, as: UInt32.self)
                if n > 0 { (header + WALFormat.headerSize).copyMemory(from: part.baseAddress!, byteCount: n) }
            }
            alloc += n + WALFormat.headerSize
            // A split record fills its page; a whole one leaves room for the batch's next.
            if final || !whole || pageIsFull { try flushPage(clear: false) }
            offset += n
            first = false
        } while offset < rec.count
    }

    private var pageIsFull: Bool { WALFormat.pageSize - alloc < WALFormat.headerSize }

    /// Writes the unflushed part of the page; a cleared page is zero-padded to its end.
    private func flushPage(clear: Bool) throws(TSDBError) {
        guard let segment else { throw TSDBError(.io, "no open WAL segment in \(directory)") }
        let shouldClear = clear || pageIsFull
        if shouldClear { alloc = WALFormat.pageSize }
        if alloc > flushed {
            try segment.writeAll(UnsafeRawBufferPointer(rebasing: page[flushed..<alloc]))
        }
        flushed = alloc
        if shouldClear {
            resetPage()
            donePages += 1
        }
    }

    private func resetPage() {
        page.initializeMemory(as: UInt8.self, repeating: 0)
        alloc = 0
        flushed = 0
    }

    /// Pads out the current page and continues in the next segment.
    private func nextSegment() throws(TSDBError) {
        if alloc > 0 { try flushPage(clear: true) }
        try startSegment(segmentIndex + 1)
    }

    /// Creates segment `index` and makes it current; the previous one is retired.
    private func startSegment(_ index: Int) throws(TSDBError) {
        let next = try createSegment(index)
        if let previous = segment { retire(previous) }
        segment = next
        segmentIndex = index
        donePages = 0
        resetPage()
    }

    /// A finished segment still needs an fsync: the next group fsync does it with
    /// `.everyCommit`, a background one otherwise (as Prometheus does). The background one
    /// also fsyncs the WAL directory, whose entry for the segment is not durable until then
    /// (`.everyCommit` fsyncs it when it creates a segment); Prometheus does not, so under
    /// POSIX rules a power loss could lose a whole fsynced segment.
    private func retire(_ file: OpenFile) {
        if options.syncMode == .everyCommit {
            unsyncedSegments.append(file)
            return
        }
        let box = UncheckedBox(file)
        finisher.async { [self] in
            do throws(TSDBError) {
                try self.timedSync(box.value)
                try box.value.close()
                try FileSystem.syncDirectory(self.directory, sys: self.sys)
            } catch {
                self.finishError.withLock { if $0 == nil { $0 = error } }
            }
        }
    }

    /// fsyncs `file`, telling ``WALOptions/fsyncObserver`` how long it took.
    private func timedSync(_ file: OpenFile) throws(TSDBError) {
        guard let observe = options.fsyncObserver else { return try file.sync() }
        let start = DispatchTime.now().uptimeNanoseconds
        try file.sync()
        observe(DispatchTime.now().uptimeNanoseconds - start)
    }

    /// Continues in a fresh segment after damage was cut away; if that segment cannot be
    /// created, the next ``log(_:leading:onFailure:)`` tries again.
    private func restart() {
        resetPage()
        donePages = 0
        do {
            try startSegment(segmentIndex + 1)
        } catch {
            if let segment { retire(segment) }
            segment = nil
        }
    }

    /// Truncates segment `index` by path. Failures are ignored: the bytes then stay at the
    /// end of a segment that is never written again, where replay recognises and skips a
    /// torn record (FORMAT.md §6.6).
    private func truncateSegment(_ index: Int, to offset: Int64) {
        guard let file = try? OpenFile.open(segmentPath(index), flags: O_WRONLY, sys: sys) else { return }
        try? file.truncate(to: offset)
        try? file.close()
    }

    /// After a failed write: cut the log back to where the failed call began (in every
    /// segment it reached), then continue in a fresh segment.
    private func undo(to start: (segment: Int, offset: Int64)) {
        truncateSegment(start.segment, to: start.offset)
        if segmentIndex > start.segment {
            for index in (start.segment + 1)...segmentIndex { truncateSegment(index, to: 0) }
        }
        restart()
    }

    /// Group commit: one fsync covers every write done before it began. The first caller
    /// to find no fsync in progress leads: it fsyncs for everyone who wrote by then, while
    /// later callers wait on `gate` and are all released when it is done. Throws if the
    /// batch `seq` was cut from the log by a failed fsync.
    private func sync(upTo seq: UInt64) throws(TSDBError) {
        if seq > failedHigh.load(ordering: .acquiring), syncedSeq.load(ordering: .acquiring) >= seq { return }
        let leads = try gate.withLock { () throws(TSDBError) -> Bool in
            while true {
                if lock.withLock({ failedRanges.contains { $0.contains(seq) } }) {
                    throw TSDBError(.io, "an fsync of the WAL in \(directory) failed before this commit was durable; the commit was removed from the log")
                }
                if syncedSeq.load(ordering: .acquiring) >= seq { return false }
                if !syncing {
                    syncing = true
                    return true
                }
                gate.wait()
            }
        }
        guard leads else { return }
        defer {
            gate.withLock {
                syncing = false
                gate.broadcast()
            }
        }
        let (target, position, files, retired) = lock.withLock {
            (writeSeq, (segment: segmentIndex, offset: Int64(donePages * WALFormat.pageSize + flushed)),
             unsyncedSegments + (segment.map { [$0] } ?? []), unsyncedSegments.count)
        }
        do throws(TSDBError) {
            guard !files.isEmpty else { throw TSDBError(.io, "no open WAL segment in \(directory) to sync") }
            for file in files { try timedSync(file) }
        } catch {
            lock.withLock { discardUnsynced() }
            throw error
        }
        lock.withLock {
            syncedPosition = position
            unsyncedSegments.removeFirst(min(retired, unsyncedSegments.count))
            unsyncedLeads.removeAll { $0.seq <= target }
        }
        advanceSynced(to: target)
    }

    /// After a failed fsync (by the leader, under `lock`): whatever was written since the last good
    /// fsync may be lost, so it is cut from the log, every call it belonged to fails, the
    /// leading records of those calls are written again by the next call, and writing
    /// continues in a fresh segment.
    private func discardUnsynced() {
        let from = syncedSeq.load(ordering: .relaxed) + 1
        if writeSeq >= from {
            failedRanges.append(from...writeSeq)
            failedHigh.store(writeSeq, ordering: .releasing)
        }
        requeued = unsyncedLeads.flatMap(\.records) + requeued
        unsyncedLeads = []
        unsyncedSegments = []
        truncateSegment(syncedPosition.segment, to: syncedPosition.offset)
        if segmentIndex > syncedPosition.segment {
            for index in (syncedPosition.segment + 1)...segmentIndex { truncateSegment(index, to: 0) }
        }
        restart()
        if segment != nil { syncedPosition = (segmentIndex, 0) }
    }

    private func advanceSynced(to target: UInt64) {
        var current = syncedSeq.load(ordering: .relaxed)
        while current < target {
            let (done, original) = syncedSeq.compareExchange(expected: current, desired: target, ordering: .acquiringAndReleasing)
            if done { break }
            current = original
        }
    }

    /// Pads the last page with zeros (as Prometheus does), fsyncs and closes every open
    /// segment, and waits for background fsyncs. Reports the first failure. Waits for a
    /// group fsync in progress; later calls throw ``TSDBError/Code/closed``.
    func close() throws(TSDBError) {
        gate.withLock {
            while syncing { gate.wait() }
            syncing = true
        }
        defer {
            gate.withLock {
                syncing = false
                gate.broadcast()
            }
        }
        var failure: TSDBError?
        let files: [OpenFile]? = lock.withLock {
            guard !isClosed else { return nil }
            isClosed = true
            if segment != nil && alloc > 0 {
                do throws(TSDBError) { try flushPage(clear: true) } catch { failure = error }
            }
            let files = unsyncedSegments + (segment.map { [$0] } ?? [])
            unsyncedSegments = []
            unsyncedLeads = []
            segment = nil
            return files
        }
        guard let files else { return }
        finisher.sync {}
        for file in files {
            do throws(TSDBError) {
                try timedSync(file)
                try file.close()
            } catch {
                if failure == nil { failure = error }
            }
        }
        // The entries of segments created since the last directory fsync.
        if failure == nil {
            do throws(TSDBError) { try FileSystem.syncDirectory(directory, sys: sys) } catch { failure = error }
        }
        if failure == nil { advanceSynced(to: lock.withLock { writeSeq }) }
        if failure == nil, let error = finishError.withLock({ $0 }) { failure = error }
        if let failure { throw failure }
    }

    /// The segment being written and the size written to it so far.
    var position: (segment: Int, offset: Int) {
        lock.withLock { (segmentIndex, donePages * WALFormat.pageSize + flushed) }
    }

    /// Starts a new segment now (checkpointing cuts one so the old ones can be compacted).
    func cutSegment() throws(TSDBError) {
        try lock.withLock { () throws(TSDBError) in
            guard !isClosed else { throw TSDBError(.closed, "the WAL in \(directory) is closed") }
            try nextSegment()
        }
    }
}
