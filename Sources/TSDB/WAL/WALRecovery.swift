#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What reading a WAL found and what it repaired.
package struct WALReadReport: Sendable {
    var checkpoint: String?
    var segments = 0
    var records = 0
    var bytes = 0
    /// Bytes cut off torn or corrupt tails, or dropped by `repair`.
    var droppedBytes = 0
    /// One line per repair, naming the segment and offset.
    var notes: [String] = []
}

/// Reads a WAL directory in order, the latest checkpoint first, and repairs what a crash
/// leaves behind (FORMAT.md §6.6). Runs before the WAL is opened for writing.
package enum WALRecovery {
    /// Calls `body` with every record (payload, file, offset) in log order.
    ///
    /// - A record cut off by the end of a segment (a crash mid-write, or a failed write
    ///   that could not be undone) is cut away, and reading goes on with the next segment.
    /// - Damage with no valid record after it in the last segment holding data is a torn
    ///   tail: cut away too.
    /// - A record whose payload does not decode (the body throws
    ///   ``TSDBError/Code/corruption``) is damage at that record, under the same rules.
    /// - Damage anywhere else is ``TSDBError/Code/corruption`` naming the segment and
    ///   offset, unless `repair` is set: then the log is cut at the damage and later
    ///   segments are deleted, as Prometheus's repair does.
    /// - A record this engine cannot read (zstd) is ``TSDBError/Code/unsupported``, never cut.
    ///
    /// Every cut is reported in ``WALReadReport/notes``. Intact segments are never dropped
    /// except by `repair`.
    ///
    /// With `readOnly`, nothing is written: a torn tail is skipped instead of cut (and noted),
    /// and damage elsewhere is an error whatever `repair` says.
    package static func read(
        directory: String, sys: Syscalls, repair: Bool, readOnly: Bool = false,
        _ body: (_ record: [UInt8], _ file: String, _ offset: Int) throws(TSDBError) -> Void
    ) throws(TSDBError) -> WALReadReport {
        try read(directory: directory, sys: sys, repair: repair, readOnly: readOnly) { reader, report throws(TSDBError) in
            try readAll(&reader, &report, body)
        }
    }

    /// As ``read(directory:sys:repair:readOnly:_:)``, with `segment` reading each segment's
    /// records (and counting them in the report) and returning the damage that stopped it:
    /// ``readAll(_:_:_:)``, or a faster reader that hands over to it where it stops.
    static func read(
        directory: String, sys: Syscalls, repair: Bool, readOnly: Bool = false,
        segments segment: (_ reader: inout SegmentReader, _ report: inout WALReadReport) throws(TSDBError) -> SegmentDamage?
    ) throws(TSDBError) -> WALReadReport {
        var report = WALReadReport()
        var after = -1
        if let checkpoint = try WALFormat.latestCheckpoint(in: directory, sys: sys) {
            report.checkpoint = checkpoint.name
            after = checkpoint.index
            let dir = directory + "/" + checkpoint.name
            for index in try WALFormat.segments(in: dir, sys: sys) {
                let path = dir + "/" + WALFormat.segmentName(index)
                var reader = try SegmentReader.open(path, sys: sys, map: !readOnly)
                report.segments += 1
                report.bytes += reader.bytes.count
                if let error = try segment(&reader, &report) {
                    try refuseUnsupported(error, path)
                    throw TSDBError(.corruption, "WAL checkpoint \(path) is damaged at offset \(error.offset): \(error.reason)",
                                    location: .init(file: path, offset: error.offset))
                }
            }
        }
        let indexes = try WALFormat.segments(in: directory, sys: sys).filter { $0 > after }
        if let first = indexes.first, after >= 0, first != after + 1 {
            // Prometheus opens every segment from the checkpoint's on, and fails the same way.
            let missing = directory + "/" + WALFormat.segmentName(after + 1)
            throw TSDBError(.corruption, "WAL segment \(missing) is missing: the checkpoint \(report.checkpoint ?? "") ends at segment \(WALFormat.segmentName(after)) and the next segment is \(WALFormat.segmentName(first))",
                            location: .init(file: missing))
        }
        for (i, index) in indexes.enumerated() {
            let path = directory + "/" + WALFormat.segmentName(index)
            var reader = try SegmentReader.open(path, sys: sys, map: !readOnly)
            report.segments += 1
            report.bytes += reader.bytes.count
            if let error = try segment(&reader, &report) {
                try refuseUnsupported(error, path)
                let laterHoldData = indexes[(i + 1)...].contains {
                    (FileSystem.size(directory + "/" + WALFormat.segmentName($0), sys: sys) ?? 0) > 0
                }
                let tornTail = error.kind == .torn
                    || (!laterHoldData && !reader.hasValidRecord(after: error.offset))
                if tornTail {
                    if !readOnly { try FileSystem.truncateFile(path, to: error.offset, sys: sys) }
                    let dropped = reader.bytes.count - error.offset
                    report.droppedBytes += dropped
                    report.notes.append("WAL segment \(path): \(readOnly ? "skipped (read-only, not cut)" : "cut") \(dropped) bytes at offset \(error.offset) (\(error.kind == .torn ? "torn record" : "damaged tail"): \(error.reason))")
                    continue
                }
                guard repair, !readOnly else {
                    throw TSDBError(.corruption, "WAL segment \(path) is corrupt at offset \(error.offset): \(error.reason); open with repair enabled to drop the log from there on",
                                    location: .init(file: path, offset: error.offset))
                }
                try FileSystem.truncateFile(path, to: error.offset, sys: sys)
                var dropped = reader.bytes.count - error.offset
                for later in indexes[(i + 1)...] {
                    let laterPath = directory + "/" + WALFormat.segmentName(later)
                    dropped += Int(FileSystem.size(laterPath, sys: sys) ?? 0)
                    try FileSystem.removeAll(laterPath, sys: sys)
                }
                report.droppedBytes += dropped
                report.notes.append("WAL segment \(path): repair dropped \(dropped) bytes from offset \(error.offset) on, deleting \(indexes.count - i - 1) later segment(s) (\(error.reason))")
                break
            }
        }
        return report
    }

    private static func refuseUnsupported(_ damage: SegmentDamage, _ path: String) throws(TSDBError) {
        guard damage.kind == .unsupported else { return }
        throw TSDBError(.unsupported, "WAL segment \(path): \(damage.reason)", location: .init(file: path, offset: damage.offset))
    }

    /// Feeds `body` the segment's records from the reader's offset on; returns the damage
    /// that stopped it, if any.
    static func readAll(
        _ reader: inout SegmentReader, _ report: inout WALReadReport,
        _ body: (_ record: [UInt8], _ file: String, _ offset: Int) throws(TSDBError) -> Void
    ) throws(TSDBError) -> SegmentDamage? {
        while true {
            let next: (record: [UInt8], offset: Int)?
            do throws(SegmentDamage) { next = try reader.next() } catch { return error }
            guard let (record, offset) = next else { return nil }
            do throws(TSDBError) {
                // `body` must refuse a damaged record whole (the replay does), so that cutting
                // the log at it leaves nothing of it applied.
                try body(record, reader.path, offset)
            } catch where error.code == .corruption {
                // A payload that does not decode is damage at its record, as in Prometheus:
                // the fragment checksums do not cover the header byte with its flags.
                return SegmentDamage(kind: .corrupt, offset: offset, reason: "record at offset \(offset) does not decode: \(error.message)")
            }
            report.records += 1
        }
    }

    package static func readFile(_ path: String, sys: Syscalls) throws(TSDBError) -> [UInt8] {
        let file = try OpenFile.open(path, flags: O_RDONLY, sys: sys)
        let bytes = try file.readAll()
        try file.close()
        return bytes
    }
}
