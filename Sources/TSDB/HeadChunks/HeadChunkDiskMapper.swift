import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the head's closed chunks to `chunks_head/` (FORMAT.md §13), as Prometheus's
/// `ChunkDiskMapper` does, so that a restart can load them instead of replaying their samples
/// from the WAL. The WAL stays the source of truth: losing any part of these files only means
/// more WAL replay, so nothing here is on the commit's durability path.
///
/// Thread-safe. Starts disabled (every call a no-op) until ``enable(directory:sys:files:)``;
/// the WAL replay enables it once it has read the files there. ``write(seriesRef:minTime:maxTime:data:)``
/// is called under a series lock by whichever commit cuts a chunk: it copies the chunk into a
/// buffer under this object's mutex and costs a `write(2)` per ``bufferSize`` bytes, so a
/// series' chunks reach the files in order. A failed write disables writing for the rest of
/// the process (``failure`` says why); the next open cuts whatever torn tail it left.
package final class HeadChunkDiskMapper: Sendable {
    /// Bytes gathered before a `write(2)`.
    static let bufferSize = 1 << 20

    /// A finished or open file and the newest sample time of any chunk in it.
    struct FileInfo: Sendable, Equatable {
        var seq: Int
        var maxTime: Int64
    }

    private struct Writer {
        let directory: String
        let sys: Syscalls
        let maxFileSize: Int
        /// Files on disk, oldest first, the open one last while `file` is set.
        var files: [FileInfo]
        var file: OpenFile?
        /// Sequence number the next file gets.
        var nextSeq: Int
        /// Bytes of the open file, buffered ones included.
        var offset = 0
        var buffer: [UInt8] = []
        var failure: TSDBError?
    }

    private let state = Mutex<Writer?>(nil)
    /// Chunks written since enabled (counted also while buffered).
    private let written = Atomic<Int>(0)

    init() {}

    /// Starts writing into `directory` (created if missing). `files` are the files already
    /// there, oldest first, with their newest sample times; the first chunk written goes into
    /// a new file after the last of them, as Prometheus never appends to an existing file.
    func enable(directory: String, sys: Syscalls, files: [FileInfo], maxFileSize: Int = HeadChunkFormat.maxFileSize) throws(TSDBError) {
        try FileSystem.createDirectory(directory, sys: sys)
        let next = (files.last?.seq ?? 0) + 1
        state.withLock { w in
            var fresh = Writer(directory: directory, sys: sys, maxFileSize: maxFileSize, files: files, nextSeq: next)
            fresh.buffer.reserveCapacity(Self.bufferSize + 64 * 1024)
            w = fresh
        }
    }

    var isEnabled: Bool { state.withLock { $0 != nil } }
    var chunksWritten: Int { written.load(ordering: .relaxed) }
    /// The error that stopped writing, if one did.
    var failure: TSDBError? { state.withLock { $0?.failure } }
    /// The files on disk, oldest first, with their newest sample times.
    var files: [FileInfo] { state.withLock { $0?.files ?? [] } }

    /// Appends one closed XOR chunk of series `seriesRef` covering `[minTime, maxTime]`.
    /// Returns its reference, or nil when disabled or after a failure.
    @discardableResult
    func write(seriesRef: UInt64, minTime: Int64, maxTime: Int64, data: [UInt8]) -> HeadChunkRef? {
        let ref: HeadChunkRef? = state.withLock { w in
            guard w != nil, w!.failure == nil else { return nil }
            do throws(TSDBError) {
                let size = HeadChunkFormat.recordSize(dataCount: data.count)
                if w!.file == nil || w!.offset + size > w!.maxFileSize && w!.offset > HeadChunkFormat.headerSize {
                    try Self.cut(&w!)
                }
                let ref = HeadChunkRef(file: w!.files[w!.files.count - 1].seq, offset: w!.offset)
                HeadChunkFormat.appendChunk(seriesRef: seriesRef, minTime: minTime, maxTime: maxTime,
                                            encoding: ChunkEncoding.xor.rawValue, data: data, to: &w!.buffer)
                w!.offset += size
                if maxTime > w!.files[w!.files.count - 1].maxTime { w!.files[w!.files.count - 1].maxTime = maxTime }
                if w!.buffer.count >= Self.bufferSize { try Self.flush(&w!) }
                return ref
            } catch {
                w!.failure = error
                return nil
            }
        }
        if ref != nil { written.add(1, ordering: .relaxed) }
        return ref
    }

    /// Finishes the open file, so the next chunk starts a new one, and deletes the oldest
    /// files whose chunks all end before `minTime` (they are in blocks now), as Prometheus's
    /// `Truncate` does after a head truncation. Only a prefix of the files goes, so the rest
    /// stay consecutive. Returns the paths deleted; failures are left for the next call.
    @discardableResult
    func truncate(before minTime: Int64) -> [String] {
        state.withLock { w in
            guard w != nil else { return [] }
            if w!.file != nil && w!.failure == nil {
                do throws(TSDBError) {
                    try Self.finish(&w!)
                } catch {
                    w!.failure = error
                }
            }
            var deleted: [String] = []
            while let first = w!.files.first, first.maxTime < minTime {
                // The open file is never deleted.
                if w!.file != nil && w!.files.count == 1 { break }
                let path = w!.directory + "/" + HeadChunkFormat.fileName(first.seq)
                let r = w!.sys.unlink(path)
                guard r == 0 || r == -ENOENT else { break }
                w!.files.removeFirst()
                deleted.append(path)
            }
            return deleted
        }
    }

    /// Deletes every file and stops writing until the next open, which then replays the
    /// WAL alone (the files are a cache of it). For when samples below the head's minimum
    /// valid time must not come back (see `HeadCompaction.forgetBelowMinValidTime`).
    ///
    /// Writing stops because a chunk written later would make the next open skip the WAL's
    /// samples before it, which were in the deleted files. Files go newest first, so a
    /// failure part-way leaves the oldest files, whose series continue in the WAL: still a
    /// valid cache.
    func discardAll() {
        state.withLock { w in
            guard w != nil else { return }
            if w!.file != nil && w!.failure == nil { try? Self.finish(&w!) }
            while let last = w!.files.last {
                let r = w!.sys.unlink(w!.directory + "/" + HeadChunkFormat.fileName(last.seq))
                guard r == 0 || r == -ENOENT else { break }
                w!.files.removeLast()
            }
            w = nil
        }
    }

    /// Writes out the buffer, fsyncs and closes the open file, and disables the mapper.
    func close() throws(TSDBError) {
        try state.withLock { w throws(TSDBError) in
            defer { w = nil }
            guard w != nil, w!.file != nil, w!.failure == nil else { return }
            try Self.finish(&w!)
        }
    }

    /// Flushes, fsyncs and closes the open file; the next chunk starts a new one.
    private static func finish(_ w: inout Writer) throws(TSDBError) {
        guard let old = w.file else { return }
        try flush(&w)
        try old.sync()
        w.file = nil
        try old.close()
    }

    /// Writes the buffer to the open file.
    private static func flush(_ w: inout Writer) throws(TSDBError) {
        guard !w.buffer.isEmpty, let file = w.file else { return }
        try file.writeAll(w.buffer)
        w.buffer.removeAll(keepingCapacity: true)
    }

    /// Finishes the open file (flushed, fsynced, closed) and creates the next one with its
    /// header.
    private static func cut(_ w: inout Writer) throws(TSDBError) {
        try finish(&w)
        let seq = w.nextSeq
        let path = w.directory + "/" + HeadChunkFormat.fileName(seq)
        let file = try OpenFile.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, sys: w.sys)
        w.nextSeq = seq + 1
        w.file = file
        w.files.append(FileInfo(seq: seq, maxTime: .min))
        w.offset = HeadChunkFormat.headerSize
        w.buffer.append(contentsOf: HeadChunkFormat.header)
    }
}
