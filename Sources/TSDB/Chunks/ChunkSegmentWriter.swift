#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes the chunk segment files of a block, `chunks/000001`, `000002`, …, byte for byte as
/// Prometheus's `chunks.Writer` does (FORMAT.md, "Block chunk segments"). Implements the
/// writing half of that section; ``ChunkSegmentReader`` is the other.
///
/// One owner, one thread. Costs one write(2) per ``bufferSize`` bytes, and at each segment
/// cut and at ``close()`` one fsync. After any error the writer refuses further calls; the
/// caller removes the directory (blocks are built in a temporary directory for that reason).
/// Dropping the writer without ``close()`` closes the open segment and loses what is still
/// buffered; only a successful ``close()`` makes the files complete and durable.
///
/// Prometheus also fallocates each new segment to the full segment size and truncates it
/// back when the segment is finished; this writer does not, and the files come out the same.
struct ChunkSegmentWriter: ~Copyable {
    /// Bytes gathered before a write(2).
    static let bufferSize = 1 << 20

    let directory: String
    /// A segment is cut before a chunk that would take it past this size; a chunk larger than
    /// this is written anyway, alone in its segment.
    let segmentSize: Int
    private let sys: Syscalls

    private var file: OpenFile?
    /// Index of the open segment; -1 before the first chunk.
    private(set) var segmentIndex = -1
    /// Bytes of the open segment, buffered ones included; 0 before the first chunk
    /// (Prometheus's `Writer.n`).
    private var segmentBytes = 0
    private var buffer: [UInt8] = []
    private var failure: TSDBError?

    /// Creates `directory` if needed. It must not hold segment files already: chunk refs
    /// count segments from the first file this writer creates.
    init(directory: String, sys: Syscalls, segmentSize: Int = ChunkSegmentFormat.defaultSegmentSize) throws(TSDBError) {
        guard segmentSize > 0, segmentSize <= Int(UInt32.max) else {
            throw TSDBError(.invalidArgument, "chunk segment size \(segmentSize) is not in 1...\(UInt32.max)")
        }
        // Through `sys`, so that tests can fail it; mkdir -p only when a parent is missing.
        let made = sys.mkdir(directory, 0o777)
        if made == -ENOENT {
            try FileSystem.createDirectory(directory, sys: sys)
        } else if made != 0 && made != -EEXIST {
            throw TSDBError.io("create directory", path: directory, errno: -made)
        }
        let existing = try ChunkSegmentFormat.segmentNames(in: directory, sys: sys)
        guard existing.isEmpty else {
            throw TSDBError(.invalidArgument, "\(directory) already holds chunk segments (\(existing[0]))")
        }
        self.directory = directory
        self.segmentSize = segmentSize
        self.sys = sys
        buffer.reserveCapacity(Self.bufferSize + 64 * 1024)
    }

    /// Writes one chunk and returns its reference. Cuts segments as Prometheus's
    /// `WriteChunks` does when called with this chunk alone.
    mutating func write(encoding: ChunkEncoding, data: [UInt8]) throws(TSDBError) -> ChunkRef {
        try guardUsable()
        do throws(TSDBError) {
            try checkLength(data.count)
            let cut = segmentBytes == 0
                || (segmentBytes > ChunkSegmentFormat.headerSize
                    && segmentBytes + ChunkSegmentFormat.budget(dataCount: data.count) > segmentSize)
            if cut { try cutSegment() }
            return try append(encoding: encoding, data: data)
        } catch {
            failure = error
            throw error
        }
    }

    /// Writes the chunks of one series, in order, and returns their references. Cuts segments
    /// exactly where Prometheus's `WriteChunks(chks...)` does for the same call, which the
    /// compactor makes once per series; use this to match Prometheus's segment boundaries.
    mutating func write(seriesChunks chunks: [(encoding: ChunkEncoding, data: [UInt8])]) throws(TSDBError) -> [ChunkRef] {
        try guardUsable()
        do throws(TSDBError) {
            for chunk in chunks { try checkLength(chunk.data.count) }
            let cutBefore = plan(chunks.map { $0.data.count })
            if segmentBytes == 0 && !chunks.isEmpty { try cutSegment() }
            var refs: [ChunkRef] = []
            refs.reserveCapacity(chunks.count)
            for (i, chunk) in chunks.enumerated() {
                if cutBefore[i] { try cutSegment() }
                refs.append(try append(encoding: chunk.encoding, data: chunk.data))
            }
            return refs
        } catch {
            failure = error
            throw error
        }
    }

    /// ``write(seriesChunks:)`` for chunks of one encoding, without building the tuple array:
    /// the same bytes and segment cuts. `refs` is replaced by the chunks' references (pass
    /// the same array for every series to reuse its storage).
    mutating func write(
        seriesChunkData chunks: some Collection<[UInt8]>, encoding: ChunkEncoding, refs: inout [ChunkRef]
    ) throws(TSDBError) {
        try guardUsable()
        refs.removeAll(keepingCapacity: true)
        do throws(TSDBError) {
            var budget = 0
            for data in chunks {
                try checkLength(data.count)
                budget += ChunkSegmentFormat.budget(dataCount: data.count)
            }
            // `plan` cuts nowhere while the whole call fits beside the open segment's bytes.
            let fits = budget + Swift.max(segmentBytes, ChunkSegmentFormat.headerSize) <= segmentSize
            let cutBefore = fits ? [] : plan(chunks.map(\.count))
            if segmentBytes == 0 && !chunks.isEmpty { try cutSegment() }
            for (i, data) in chunks.enumerated() {
                if !fits && cutBefore[i] { try cutSegment() }
                refs.append(try append(encoding: encoding, data: data))
            }
        } catch {
            failure = error
            throw error
        }
    }

    /// Flushes, fsyncs and closes the last segment, then fsyncs the directory. Writes no file
    /// at all if no chunk was written, as Prometheus does.
    consuming func close() throws(TSDBError) {
        try guardUsable()
        try finishSegment()
        try FileSystem.syncDirectory(directory, sys: sys)
    }

    /// Prometheus's batching in `WriteChunks` (chunks.go, v2.42.0 lines 362–399): whether a new
    /// segment starts before each chunk. Sizes are budgets with a 5-byte length field.
    private func plan(_ dataCounts: [Int]) -> [Bool] {
        var cutBefore = [Bool](repeating: false, count: dataCounts.count)
        var batchSize = 0
        var firstBatch = true
        for (i, count) in dataCounts.enumerated() {
            let size = ChunkSegmentFormat.budget(dataCount: count)
            batchSize += size
            var cut = i != 0 && batchSize + ChunkSegmentFormat.headerSize > segmentSize
            if firstBatch && segmentBytes > ChunkSegmentFormat.headerSize {
                cut = batchSize + segmentBytes > segmentSize
                if cut { firstBatch = false }
            }
            if cut {
                cutBefore[i] = true
                batchSize = size
            }
        }
        return cutBefore
    }

    private func guardUsable() throws(TSDBError) {
        if let failure {
            throw TSDBError(.invalidArgument, "chunk writer for \(directory) failed earlier: \(failure)", cause: failure)
        }
    }

    private func checkLength(_ count: Int) throws(TSDBError) {
        guard count <= Int(UInt32.max) else {
            throw TSDBError(.invalidArgument, "chunk of \(count) bytes is larger than \(UInt32.max)")
        }
    }

    private mutating func append(encoding: ChunkEncoding, data: [UInt8]) throws(TSDBError) -> ChunkRef {
        guard segmentBytes <= Int(UInt32.max) else {
            throw TSDBError(.invalidArgument, "chunk would start at offset \(segmentBytes), past 32 bits")
        }
        let ref = ChunkRef(segment: segmentIndex, offset: segmentBytes)
        let before = buffer.count
        var length = UInt64(data.count)
        while length >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        buffer.append(UInt8(length))
        buffer.append(encoding.rawValue)
        buffer.append(contentsOf: data)
        let seed = withUnsafeBytes(of: encoding.rawValue) { CRC32C.checksum($0) }
        let crc = data.withUnsafeBytes { CRC32C.update(seed, $0) }
        withUnsafeBytes(of: crc.bigEndian) { buffer.append(contentsOf: $0) }
        segmentBytes += buffer.count - before
        if buffer.count >= Self.bufferSize { try flush() }
        return ref
    }

    private mutating func flush() throws(TSDBError) {
        guard let file, !buffer.isEmpty else { return }
        try file.writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs and closes the open segment, if any.
    private mutating func finishSegment() throws(TSDBError) {
        guard let file else { return }
        try flush()
        try file.sync()
        try file.close()
        self.file = nil
    }

    /// Finishes the open segment and starts the next one with its header.
    private mutating func cutSegment() throws(TSDBError) {
        try finishSegment()
        let index = segmentIndex + 1
        guard index <= Int(UInt32.max) else { throw TSDBError(.invalidArgument, "too many chunk segments in \(directory)") }
        let path = directory + "/" + ChunkSegmentFormat.segmentName(index)
        file = try OpenFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o666, sys: sys)
        segmentIndex = index
        withUnsafeBytes(of: ChunkSegmentFormat.magic.bigEndian) { buffer.append(contentsOf: $0) }
        buffer.append(ChunkSegmentFormat.version)
        buffer.append(contentsOf: [0, 0, 0])
        segmentBytes = ChunkSegmentFormat.headerSize
    }
}
