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
}

/// The write side of the write-ahead log: Prometheus's `wlog.WL`, byte for byte
/// (FORMAT.md §6). Records go into 32 KiB pages; a record that does not fit in the page is
/// split into fragments; a record that does not fit in the segment starts a new segment.
///
/// Thread-safe. ``log(_:)`` returns once its records reached the kernel with write(2) (and,
/// with ``WALSyncMode/everyCommit``, stable storage). A failed write leaves no partial
/// record behind for later ones to sit after: the segment is truncated back to where the
/// call began, and writing continues in a new segment.
final class WAL: @unchecked Sendable {
    // @unchecked: every mutable field below is guarded by `lock`, except `syncedSeq`
    // (atomic) and the page memory, which only the lock holder touches.
    let directory: String
    let options: WALOptions
    let sys: Syscalls

    private let lock = Lock()
    private var segment: OpenFile?
    private(set) var segmentIndex: Int
    private let page: UnsafeMutableRawBufferPointer
    private var alloc = 0
    private var flushed = 0
    private var donePages = 0
    private var isClosed = false
    /// Number of successful ``log(_:)`` calls; `syncedSeq` is how many of them are durable.
    private var writeSeq: UInt64 = 0
    private let syncedSeq = Atomic<UInt64>(0)
    private let syncLock = Lock()
    /// Finishes segments in the background: fsync, then close.
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
        try FileSystem.createDirectory(directory)
        segmentIndex = (try WALFormat.segments(in: directory).last).map { $0 + 1 } ?? 0
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
    private func prepare(_ record: [UInt8]) -> (bytes: [UInt8], flag: UInt8) {
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

    /// Writes `records` as one batch: all of them reach the kernel, or the call throws and
    /// none of them stays in the log. Records are compressed before the lock is taken.
    ///
    /// `leading`, if given, runs under the WAL's lock and returns a record to write first;
    /// the head uses it for series records, so that no sample of a new series can reach
    /// the log before its series record. `onFailure` runs under the lock if the batch fails.
    func log(_ records: [[UInt8]], leading: (() -> [UInt8]?)? = nil, onFailure: (() -> Void)? = nil) throws(TSDBError) {
        guard !records.isEmpty else { return }
        var prepared = records.map(prepare)
        let limit = (WALFormat.pageSize - WALFormat.headerSize) * pagesPerSegment
        let seq = try lock.withLock { () throws(TSDBError) -> UInt64 in
            guard !isClosed else { throw TSDBError(.closed, "the WAL in \(directory) is closed") }
            if let lead = leading?() { prepared.insert(prepare(lead), at: 0) }
            if let big = prepared.first(where: { $0.bytes.count > limit }) {
                onFailure?()
                throw TSDBError(.invalidArgument, "a WAL record of \(big.bytes.count) bytes does not fit in a segment of \(options.segmentSize) bytes; commit fewer samples at once")
            }
            if segment == nil {
                // An earlier failure could not open a fresh segment; try again.
                do throws(TSDBError) { try startSegment(segmentIndex + 1) } catch {
                    onFailure?()
                    throw error
                }
            }
            let start = (segment: segmentIndex, offset: Int64(donePages * WALFormat.pageSize + flushed))
            do throws(TSDBError) {
                for (i, r) in prepared.enumerated() {
                    try logRecord(r.bytes, flag: r.flag, final: i == prepared.count - 1)
                }
            } catch {
                onFailure?()
                undo(to: start)
                throw error
            }
            writeSeq += 1
            return writeSeq
        }
        if options.syncMode == .everyCommit { try sync(upTo: seq) }
    }

    /// Prometheus's `log`: cut the segment if the record does not fit, then fill pages.
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

    /// Pads out the current page and continues in the next segment; the finished segment
    /// is fsynced (in the background unless every commit syncs anyway).
    private func nextSegment() throws(TSDBError) {
        if alloc > 0 { try flushPage(clear: true) }
        try startSegment(segmentIndex + 1)
    }

    private func startSegment(_ index: Int) throws(TSDBError) {
        let next = try createSegment(index)
        let previous = segment
        segment = next
        segmentIndex = index
        donePages = 0
        resetPage()
        guard let previous else { return }
        if options.syncMode == .everyCommit {
            try previous.sync()
            advanceSynced(to: writeSeq)
        } else {
            let box = UncheckedBox(previous)
            finisher.async { [self] in
                do throws(TSDBError) {
                    try box.value.sync()
                    try box.value.close()
                } catch {
                    self.finishError.withLock { $0 = error }
                }
            }
        }
    }

    /// After a failed write: cut the log back to where the failed call began, then continue
    /// in a fresh segment. If even the truncation fails, the torn bytes stay at the end of a
    /// segment that is never written again, where replay recognises and skips them.
    private func undo(to start: (segment: Int, offset: Int64)) {
        if segmentIndex == start.segment, let segment {
            try? segment.truncate(to: start.offset)
        } else {
            if let segment { try? segment.truncate(to: 0) }
            if let old = try? OpenFile.open(segmentPath(start.segment), flags: O_WRONLY, sys: sys) {
                try? old.truncate(to: start.offset)
                try? old.close()
            }
        }
        resetPage()
        donePages = 0
        do {
            try startSegment(segmentIndex + 1)
        } catch {
            segment = nil  // the next log() tries again
        }
    }

    /// Group commit: one fsync covers every write done before it began.
    private func sync(upTo seq: UInt64) throws(TSDBError) {
        if syncedSeq.load(ordering: .acquiring) >= seq { return }
        try syncLock.withLock { () throws(TSDBError) in
            if syncedSeq.load(ordering: .acquiring) >= seq { return }
            let (target, file) = lock.withLock { (writeSeq, segment) }
            guard let file else { throw TSDBError(.io, "no open WAL segment in \(directory) to sync") }
            try file.sync()
            advanceSynced(to: target)
        }
    }

    private func advanceSynced(to target: UInt64) {
        var current = syncedSeq.load(ordering: .relaxed)
        while current < target {
            let (done, original) = syncedSeq.compareExchange(expected: current, desired: target, ordering: .acquiringAndReleasing)
            if done { break }
            current = original
        }
    }

    /// Flushes, fsyncs and closes the current segment, and waits for background fsyncs.
    /// Reports the first background fsync failure, if there was one.
    func close() throws(TSDBError) {
        let file: OpenFile? = lock.withLock {
            guard !isClosed else { return nil }
            isClosed = true
            let f = segment
            segment = nil
            return f
        }
        finisher.sync {}
        if let file {
            try file.sync()
            try file.close()
        }
        if let error = finishError.withLock({ $0 }) { throw error }
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

/// Moves a non-Sendable value to another thread when the sender gives up its own use.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
