import TSDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A place in the WAL: a segment and the offset in it where a record (or page padding)
/// begins. The sender's acknowledged position says everything before it was sent.
public struct WALPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var segment: Int
    public var offset: Int

    public init(segment: Int, offset: Int) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (a: WALPosition, b: WALPosition) -> Bool {
        (a.segment, a.offset) < (b.segment, b.offset)
    }

    public var description: String { "\(WALFormat.segmentName(segment))@\(offset)" }
}

/// One record read from a segment: its payload, and where the record after it begins.
struct TailRecord {
    var bytes: [UInt8]
    var start: Int
    var end: Int
}

/// What one read of a segment found after its complete records.
enum TailEnd {
    /// The bytes end cleanly (a record may be appended later, if the segment is live).
    case clean
    /// The last record is incomplete: not written yet, if the segment is live.
    case torn
    /// Bytes no writer produces, at `offset`.
    case corrupt(offset: Int, reason: String)
}

/// Reads the engine's WAL as Prometheus's `wlog.Watcher` does, through the engine's own
/// segment reader and record decoders: the segments and checkpoints of `<db>/wal/`, and
/// the complete records of a segment from an offset on. Holds no file open between calls.
/// Not thread-safe; one reader task uses it.
struct WALTail {
    let directory: String
    let sys: Syscalls

    init(walDirectory: String, sys: Syscalls = .system) {
        self.directory = walDirectory
        self.sys = sys
    }

    func segments() throws(TSDBError) -> [Int] { try WALFormat.segments(in: directory, sys: sys) }

    func latestCheckpoint() throws(TSDBError) -> (name: String, index: Int)? {
        try WALFormat.latestCheckpoint(in: directory, sys: sys)
    }

    func segmentPath(_ index: Int) -> String { directory + "/" + WALFormat.segmentName(index) }

    /// Every record of the checkpoint's segments (a checkpoint is finished when renamed into
    /// place, so damage in it is an error).
    func checkpointRecords(_ name: String) throws(TSDBError) -> [[UInt8]] {
        let dir = directory + "/" + name
        var out: [[UInt8]] = []
        for index in try WALFormat.segments(in: dir, sys: sys) {
            let path = dir + "/" + WALFormat.segmentName(index)
            let (records, end) = try read(path: path, from: 0, limit: .max)
            if case .corrupt(let offset, let reason) = end {
                throw TSDBError(.corruption, "checkpoint segment \(path) is damaged at offset \(offset): \(reason)")
            }
            out += records.map(\.bytes)
        }
        return out
    }

    /// The complete records of segment `index` that begin at or after `offset`, reading at
    /// most about `limit` bytes; nil when the segment does not exist (truncated away).
    func read(segment index: Int, from offset: Int, limit: Int) throws(TSDBError) -> (records: [TailRecord], end: TailEnd, fileSize: Int)? {
        let path = segmentPath(index)
        guard let size = FileSystem.size(path, sys: sys) else { return nil }
        let (records, end) = try read(path: path, from: offset, limit: limit)
        return (records, end, Int(size))
    }

    /// The segment reader works on whole pages (a fragment may not cross a page, and padding
    /// runs to a page's end), so bytes are read from the page holding `offset`. The part of
    /// that page before `offset` (whole records already read) is replaced by one synthetic
    /// `full` fragment of zeros with its checksum, which keeps the reader's page arithmetic
    /// right and is skipped. A record begins at least 7 bytes into a page, or at its start.
    private func read(path: String, from offset: Int, limit: Int) throws(TSDBError) -> ([TailRecord], TailEnd) {
        let pageSize = WALFormat.pageSize
        let pageStart = offset / pageSize * pageSize
        let skip = offset - pageStart
        guard skip == 0 || skip >= WALFormat.headerSize else {
            throw TSDBError(.invalidArgument, "WAL position \(offset) in \(path) is not where a record begins")
        }
        var bytes = try readBytes(path, from: offset, limit: limit)
        if skip > 0 {
            var prefix = [UInt8](repeating: 0, count: skip)
            let dataLength = skip - WALFormat.headerSize
            let crc = prefix[WALFormat.headerSize...].withUnsafeBytes { CRC32C.checksum($0) }
            prefix[0] = 1  // a `full` fragment, uncompressed
            prefix[1] = UInt8(truncatingIfNeeded: dataLength >> 8)
            prefix[2] = UInt8(truncatingIfNeeded: dataLength)
            prefix[3] = UInt8(truncatingIfNeeded: crc >> 24)
            prefix[4] = UInt8(truncatingIfNeeded: crc >> 16)
            prefix[5] = UInt8(truncatingIfNeeded: crc >> 8)
            prefix[6] = UInt8(truncatingIfNeeded: crc)
            bytes = prefix + bytes
        }
        let total = bytes.count
        var reader = SegmentReader(bytes: bytes, path: path)
        var found: [(bytes: [UInt8], start: Int)] = []
        var end = TailEnd.clean
        var stop = total
        while true {
            do throws(SegmentDamage) {
                guard let (record, start) = try reader.next() else { break }
                if skip > 0 && start == 0 { continue }  // the synthetic prefix
                found.append((record, start))
            } catch {
                switch error.kind {
                case .torn: end = .torn
                case .corrupt, .unsupported: end = .corrupt(offset: pageStart + error.offset, reason: error.reason)
                }
                stop = error.offset
                break
            }
        }
        var out: [TailRecord] = []
        out.reserveCapacity(found.count)
        for (i, r) in found.enumerated() {
            let next = i + 1 < found.count ? found[i + 1].start : stop
            out.append(TailRecord(bytes: r.bytes, start: pageStart + r.start, end: pageStart + next))
        }
        return (out, end)
    }

    /// Up to `limit` bytes of the file from `offset`, through the engine's syscall layer.
    private func readBytes(_ path: String, from offset: Int, limit: Int) throws(TSDBError) -> [UInt8] {
        let fd = sys.open(path, O_RDONLY, 0)
        guard fd >= 0 else { throw .io("open", path: path, errno: -fd) }
        defer { _ = sys.close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while out.count < limit {
            let want = Swift.min(chunk.count, limit - out.count)
            let n = chunk.withUnsafeMutableBytes { sys.pread(fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), Int64(offset + out.count)) }
            if n == -Int(EINTR) { continue }
            guard n >= 0 else { throw .io("read", path: path, errno: Int32(-n)) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}
