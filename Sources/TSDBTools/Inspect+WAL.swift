import TSDB

/// A problem `verify` or `dump-wal` found, where it is and what is wrong.
package struct InspectProblem: Sendable, CustomStringConvertible {
    package var file: String
    package var offset: Int?
    package var message: String
    /// What a crash leaves and the next read-write open repairs without losing an
    /// acknowledged sample: a torn record at the end of a WAL segment, a torn chunk
    /// at the end of the last head chunk file, or that file ending inside its header.
    /// `verify` reports these as notes, not problems.
    package var isTornTail = false

    package var description: String {
        offset.map { "\(file) at offset \($0): \(message)" } ?? "\(file): \(message)"
    }

    init(_ error: TSDBError, file fallback: String) {
        file = error.location?.file ?? fallback
        offset = error.location?.offset
        message = error.message
    }

    init(file: String, offset: Int?, message: String, isTornTail: Bool = false) {
        self.file = file
        self.offset = offset
        self.message = message
        self.isTornTail = isTornTail
    }
}

/// One WAL record, decoded, with the segment file and offset it starts at.
package struct WALRecordInfo: Sendable {
    package enum Content: Sendable {
        case series([(ref: UInt64, labels: Labels)])
        case samples([(ref: UInt64, timestamp: Int64, value: Double)])
        case tombstones([(ref: UInt64, minTime: Int64, maxTime: Int64)])
        /// A record type this engine does not read (exemplars, metadata, histograms…).
        case unknown(type: UInt8, length: Int)
    }

    package var file: String
    package var offset: Int
    package var content: Content
}

extension Inspect {
    /// Calls `body` with every record of the WAL in `directory`/wal, the latest checkpoint
    /// first, in log order, without changing anything. Damage (a bad checksum, a torn
    /// tail, a payload that does not decode) ends the segment it is in and is returned with
    /// its file and offset; reading goes on with the next segment.
    /// - Throws: `.io` when a segment cannot be read.
    package static func walkWAL(directory: String, _ body: (WALRecordInfo) -> Void) throws(TSDBError) -> [InspectProblem] {
        let wal = directory + "/wal"
        guard FileSystem.isDirectory(wal, sys: .system) else { return [] }
        var files: [String] = []
        if let checkpoint = try WALFormat.latestCheckpoint(in: wal, sys: .system) {
            let dir = wal + "/" + checkpoint.name
            for i in try WALFormat.segments(in: dir, sys: .system) { files.append(dir + "/" + WALFormat.segmentName(i)) }
        }
        var problems: [InspectProblem] = []
        let indexes: [Int]
        do { indexes = try WALFormat.segments(in: wal, sys: .system) } catch {
            problems.append(InspectProblem(error, file: wal))
            indexes = ((try? FileSystem.list(wal, sys: .system)) ?? []).compactMap { Int($0) }.sorted()
        }
        for i in indexes { files.append(wal + "/" + WALFormat.segmentName(i)) }
        // Open cuts a torn record of any segment and reads on (FORMAT.md §6.6); a checkpoint
        // is complete before it is renamed into place, so damage there is never a tear.
        let segmentPaths = Set(indexes.map { wal + "/" + WALFormat.segmentName($0) })
        for path in files {
            var reader = SegmentReader(bytes: try WALRecovery.readFile(path, sys: .system), path: path)
            while true {
                let next: (record: [UInt8], offset: Int)?
                do throws(SegmentDamage) { next = try reader.next() } catch {
                    let kind = error.kind == .torn ? "torn record (a write cut short)" : (error.kind == .corrupt ? "corrupt record" : "unsupported record")
                    problems.append(InspectProblem(file: path, offset: error.offset, message: "\(kind): \(error.reason)",
                                                   isTornTail: error.kind == .torn && segmentPaths.contains(path)))
                    break
                }
                guard let (record, offset) = next else { break }
                do throws(TSDBError) {
                    body(WALRecordInfo(file: path, offset: offset, content: try decode(record, file: path, offset: offset)))
                } catch {
                    problems.append(InspectProblem(error, file: path))
                    break
                }
            }
        }
        return problems
    }

    private static func decode(_ record: [UInt8], file: String, offset: Int) throws(TSDBError) -> WALRecordInfo.Content {
        switch record.first {
        case RecordType.series.rawValue:
            return .series(try RecordDecoder.series(record, file: file, offset: offset).map { ($0.ref, $0.labels) })
        case RecordType.samples.rawValue:
            var samples: [RefSample] = []
            try RecordDecoder.samples(record, into: &samples, file: file, offset: offset)
            return .samples(samples.map { ($0.ref, $0.timestamp, $0.value) })
        case RecordType.tombstones.rawValue:
            return .tombstones(try RecordDecoder.tombstones(record, file: file, offset: offset).map { ($0.ref, $0.minTime, $0.maxTime) })
        default:
            return .unknown(type: record.first ?? 0, length: record.count)
        }
    }
}
