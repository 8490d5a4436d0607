import Foundation
import Testing
import TSDBTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct CheckpointTests {
    /// What the test WAL holds, for computing what must survive.
    struct Written {
        var labels: [UInt64: Labels] = [:]
        /// Segment holding each series' record.
        var seriesSegment: [UInt64: Int] = [:]
        /// Every sample in log order, with its segment.
        var samples: [(segment: Int, ref: UInt64, sample: Sample)] = []
    }

    /// One checkpoint taken: `Checkpoint.create(…, to: through, keep:, minTime:)`.
    struct Stage {
        var keep: (UInt64) -> Bool
        var minTime: Int64
        var through: Int
    }

    static let walOptions = WALOptions(segmentSize: 32 * 1024 * 4, compression: .snappy)
    /// Timestamps per segment, 1000 ms apart: segment s holds t = s*100 … s*100+99 seconds.
    static let perSegment: Int64 = 100
    /// Tombstones written in segment 0, and those a checkpoint at minTime 150 s keeps: an
    /// interval survives whole if it ends ≥ minTime, whether or not its series is kept.
    static let tombstones = [RefTombstone(ref: 1, minTime: 0, maxTime: 100_000),
                             RefTombstone(ref: 2, minTime: 100_000, maxTime: 200_000),
                             RefTombstone(ref: 3, minTime: 160_000, maxTime: 170_000)]
    static let keptTombstones = Array(tombstones.dropFirst())

    static func labels(_ ref: UInt64) -> Labels { try! Labels(["__name__": "metric", "i": String(ref)]) }

    /// Writes segments 0..<segments into `dir`: series 1…20 open segment 0 (with the
    /// tombstones and a record of an unknown type), series 22 appears in segment 3; one
    /// samples record per timestamp for every series alive.
    static func writeWAL(_ dir: String, segments: Int, options: WALOptions = walOptions, rng: inout SeededRandom) throws -> Written {
        var written = Written()
        let wal = try WAL(directory: dir, options: options, sys: .system)
        func newSeries(_ refs: ClosedRange<UInt64>, segment: Int) throws {
            var w = ByteWriter()
            RecordEncoder.series(refs.map { RefSeries(ref: $0, labels: labels($0)) }, into: &w)
            try wal.log([w.bytes])
            for ref in refs {
                written.labels[ref] = labels(ref)
                written.seriesSegment[ref] = segment
            }
        }
        for segment in 0..<segments {
            if segment > 0 { try wal.cutSegment() }
            if segment == 0 {
                try newSeries(1...20, segment: 0)
                var w = ByteWriter()
                RecordEncoder.tombstones(tombstones, into: &w)
                try wal.log([w.bytes, [0x07, 1, 2, 3]])
            }
            if segment == 3 { try newSeries(22...22, segment: 3) }
            for step in 0..<perSegment {
                let t = (Int64(segment) * perSegment + step) * 1000
                let batch = written.labels.keys.sorted().map {
                    RefSample(ref: $0, timestamp: t, value: Double(rng.next() % 1_000_000) / 8)
                }
                var w = ByteWriter()
                RecordEncoder.samples(batch, into: &w)
                try wal.log([w.bytes])
                for s in batch { written.samples.append((segment, s.ref, Sample(timestamp: s.timestamp, value: s.value))) }
            }
        }
        try wal.close()
        #expect(try WALFormat.segments(in: dir, sys: .system) == Array(0..<segments))
        return written
    }

    /// Whether data from `segment` survives every checkpoint that covered it.
    static func survives(_ segment: Int, _ stages: [Stage], _ test: (Stage) -> Bool) -> Bool {
        stages.allSatisfy { segment > $0.through || test($0) }
    }

    static func known(_ ref: UInt64, _ w: Written, _ stages: [Stage]) -> Bool {
        survives(w.seriesSegment[ref]!, stages) { $0.keep(ref) }
    }

    /// The samples a checkpoint keeps, in log order: t ≥ minTime, whatever the series.
    static func keptSamples(_ w: Written, _ stages: [Stage]) -> [(ref: UInt64, sample: Sample)] {
        w.samples.filter { s in survives(s.segment, stages) { s.sample.timestamp >= $0.minTime } }.map { ($0.ref, $0.sample) }
    }

    /// Opens the database over `dir/wal` and checks that exactly the expected series, under
    /// their original refs, and samples come back.
    static func verifyReplay(_ dir: String, _ w: Written, _ stages: [Stage]) throws {
        // These checkpoints drop samples no head truncation dropped (the engine checkpoints
        // only after truncating), so chunks an earlier open wrote to chunks_head/ would still
        // hold them: replay the WAL alone.
        try? FileManager.default.removeItem(atPath: dir + "/chunks_head")
        let db = try DB.open(directory: dir)
        defer { try? db.close() }
        let kept = keptSamples(w, stages)
        var unknown = 0
        for (ref, labels) in w.labels {
            let series = try db.querier(minTime: .min, maxTime: .max).select(#"metric{i="\#(ref)"}"#)
            if known(ref, w, stages) {
                #expect(db.head.series.lookup(ref)?.takeUnretainedValue().labels == labels, "series \(ref)")
                // The WAL's tombstones delete from the head what they cover (those a checkpoint
                // dropped cover only samples it dropped too).
                let expected = kept.filter { $0.ref == ref }.map(\.sample).filter { s in
                    !Self.tombstones.contains { $0.ref == ref && s.timestamp >= $0.minTime && s.timestamp <= $0.maxTime }
                }
                #expect(!expected.isEmpty)
                #expect(series.first?.samples == expected, "series \(ref)")
            } else {
                #expect(db.head.series.lookup(ref) == nil, "dropped series \(ref)")
                #expect(series.isEmpty, "dropped series \(ref)")
                unknown += kept.count(where: { $0.ref == ref })
            }
        }
        #expect(db.headSeriesCount == w.labels.keys.count(where: { known($0, w, stages) }))
        // Samples of dropped series above minTime stay in the checkpoint (Prometheus keeps
        // samples by time only); replay skips them for want of a series record.
        #expect(db.replayStats.unknownRefs == unknown)
        #expect(db.replayStats.unknownRecords == (survives(0, stages) { _ in false } ? 1 : 0))
    }

    /// The records of `checkpoint.<index>`, decoded, with the header byte of its first record.
    static func checkpointContents(_ walDir: String, _ index: Int) throws -> (series: [RefSeries], samples: [RefSample], tombstones: [RefTombstone], types: [UInt8], firstHeader: UInt8?) {
        let dir = walDir + "/" + WALFormat.checkpointName(index)
        var series: [RefSeries] = [], samples: [RefSample] = [], stones: [RefTombstone] = [], types: [UInt8] = []
        var firstHeader: UInt8?
        for segment in try WALFormat.segments(in: dir, sys: .system) {
            let path = dir + "/" + WALFormat.segmentName(segment)
            let bytes = try WALRecovery.readFile(path, sys: .system)
            if firstHeader == nil { firstHeader = bytes.first }
            var reader = SegmentReader(bytes: bytes, path: path)
            while let (record, _) = try reader.next() {
                types.append(record[0])
                switch record[0] {
                case RecordType.series.rawValue: series += try RecordDecoder.series(record)
                case RecordType.samples.rawValue: try RecordDecoder.samples(record, into: &samples)
                case RecordType.tombstones.rawValue: stones += try RecordDecoder.tombstones(record)
                default: break
                }
            }
        }
        return (series, samples, stones, types, firstHeader)
    }

    static func names(_ dir: String) throws -> [String] { (try FileSystem.list(dir, sys: .system) ?? []).sorted() }

    static func keepNotMultipleOf3(_ ref: UInt64) -> Bool { ref % 3 != 0 }

    @Test(arguments: [WALCompression.none, .snappy, .lz4])
    func keepsSeriesByKeepAndSamplesByTime(compression: WALCompression) throws {
        var rng = SeededRandom.fromEnvironment()
        try TemporaryDirectory.with { dir in
            let wal = dir + "/wal"
            let w = try Self.writeWAL(wal, segments: 6, rng: &rng)
            let stage = Stage(keep: Self.keepNotMultipleOf3, minTime: 150_000, through: 2)
            let stats = try Checkpoint.create(walDirectory: wal, from: 0, to: 2, keep: stage.keep, minTime: stage.minTime, compression: compression, sys: .system)

            #expect(stats == CheckpointStats(droppedSeries: 6, droppedSamples: 20 * 150, droppedTombstones: 1,
                                             totalSeries: 20, totalSamples: 20 * 300, totalTombstones: 3, droppedRecords: 1))
            let cp = try Self.checkpointContents(wal, 2)
            #expect(cp.series == (1...20).filter(Self.keepNotMultipleOf3).map { RefSeries(ref: $0, labels: Self.labels($0)) })
            #expect(cp.tombstones == Self.keptTombstones)
            let inCheckpoint = Self.keptSamples(w, [stage]).filter { $0.sample.timestamp < 300_000 }
            #expect(cp.samples == inCheckpoint.map { RefSample(ref: $0.ref, timestamp: $0.sample.timestamp, value: $0.sample.value) })
            #expect(cp.types.first == RecordType.series.rawValue)
            #expect(cp.types.allSatisfy { $0 >= 1 && $0 <= 3 })
            let flag = (cp.firstHeader ?? 0) & ~WALFormat.typeMask
            switch compression {
            case .none: #expect(flag == 0)
            case .snappy: #expect(flag == WALFormat.snappyFlag)
            case .lz4: #expect(flag == WALFormat.lz4Flag)
            }

            // Replay before the old segments go reads the checkpoint, then segments 3…5.
            try Self.verifyReplay(dir, w, [stage])
            try Checkpoint.deleteSegments(walDirectory: wal, before: 3, sys: .system)
            try Checkpoint.deleteCheckpoints(walDirectory: wal, before: 2, sys: .system)
            #expect(try WALFormat.segments(in: wal, sys: .system) == [3, 4, 5, 6])   // 6: the DB's own
            #expect(try Checkpoint.list(in: wal, sys: .system).map(\.name) == ["checkpoint.00000002"])
            try Self.verifyReplay(dir, w, [stage])
        }
    }

    @Test func checkpointOfACheckpointCarriesItsContent() throws {
        var rng = SeededRandom.fromEnvironment()
        try TemporaryDirectory.with { dir in
            let wal = dir + "/wal"
            let w = try Self.writeWAL(wal, segments: 7, rng: &rng)
            let first = Stage(keep: Self.keepNotMultipleOf3, minTime: 150_000, through: 2)
            _ = try Checkpoint.create(walDirectory: wal, from: 0, to: 2, keep: first.keep, minTime: first.minTime, compression: .snappy, sys: .system)
            try Checkpoint.deleteSegments(walDirectory: wal, before: 3, sys: .system)

            // Segment 4 is not next after checkpoint 2: a gap, refused before anything is written.
            let gap = #expect(throws: TSDBError.self) {
                try Checkpoint.create(walDirectory: wal, from: 4, to: 5, keep: { _ in true }, minTime: 0, compression: .snappy, sys: .system)
            }
            #expect(gap?.code == .invalidArgument)
            #expect(try Self.names(wal).filter { $0.hasPrefix("checkpoint.") } == ["checkpoint.00000002"])

            // The second drops series 20 too and raises minTime; series 1…19 have their
            // records only in checkpoint 2 by now, so they must come through it.
            let second = Stage(keep: { $0 % 3 != 0 && $0 != 20 }, minTime: 420_000, through: 4)
            let stats = try Checkpoint.create(walDirectory: wal, from: 3, to: 4, keep: second.keep, minTime: second.minTime, compression: .snappy, sys: .system)
            #expect(stats.totalSeries == 14 + 1)        // checkpoint 2's kept series, and series 22
            #expect(stats.droppedSeries == 1)           // series 20
            #expect(stats.totalTombstones == 2)         // what checkpoint 2 kept
            #expect(stats.droppedTombstones == 2)       // both end before 420 s
            #expect(stats.droppedRecords == 0)          // checkpoint 2 held none
            #expect(stats.totalSamples == 20 * 150 + 21 * 200)
            #expect(stats.droppedSamples == stats.totalSamples - 21 * 80)

            try Checkpoint.deleteSegments(walDirectory: wal, before: 5, sys: .system)
            try Checkpoint.deleteCheckpoints(walDirectory: wal, before: 4, sys: .system)
            #expect(try Self.names(wal) == ["00000005", "00000006", "checkpoint.00000004"])
            let cp = try Self.checkpointContents(wal, 4)
            #expect(cp.series.map(\.ref) == (1...19).filter { $0 % 3 != 0 } + [22])
            #expect(cp.tombstones.isEmpty)
            try Self.verifyReplay(dir, w, [first, second])
        }
    }

    @Test func staleTemporaryCheckpointsAreIgnoredAndRemoved() throws {
        var rng = SeededRandom.fromEnvironment()
        try TemporaryDirectory.with { dir in
            let wal = dir + "/wal"
            let w = try Self.writeWAL(wal, segments: 3, rng: &rng)
            // A crashed checkpoint for the same index, holding a series no segment has, and
            // one for another index.
            let stale = WALFormat.checkpointName(1) + Checkpoint.temporarySuffix
            let leftover = try WAL(directory: wal + "/" + stale, options: Self.walOptions, sys: .system)
            var out = ByteWriter()
            RecordEncoder.series([RefSeries(ref: 99, labels: try Labels(["__name__": "stale"]))], into: &out)
            var samples = ByteWriter()
            RecordEncoder.samples([RefSample(ref: 99, timestamp: 1, value: 1)], into: &samples)
            try leftover.log([out.bytes, samples.bytes])
            try leftover.close()
            try FileSystem.createDirectory(wal + "/checkpoint.00000009.tmp", sys: .system)

            #expect(try WALFormat.latestCheckpoint(in: wal, sys: .system) == nil)
            #expect(try Checkpoint.list(in: wal, sys: .system).isEmpty)
            do {
                let db = try DB.open(directory: dir)
                #expect(db.replayStats.series == 20)
                #expect(db.head.series.lookup(99) == nil)
                #expect(try db.querier(minTime: .min, maxTime: .max).select("stale").isEmpty)
                try db.close()
            }

            let stage = Stage(keep: { _ in true }, minTime: 0, through: 1)
            _ = try Checkpoint.create(walDirectory: wal, from: 0, to: 1, keep: stage.keep, minTime: stage.minTime, compression: .snappy, sys: .system)
            #expect(try Self.names(wal).filter { $0.hasPrefix("checkpoint.") } == ["checkpoint.00000001"])
            #expect(try Self.checkpointContents(wal, 1).series.map(\.ref) == Array(1...20))
            try Self.verifyReplay(dir, w, [stage])
        }
    }

    @Test func failedRenameLeavesTheWALAsItWas() throws {
        var rng = SeededRandom.fromEnvironment()
        try TemporaryDirectory.with { dir in
            let wal = dir + "/wal"
            let w = try Self.writeWAL(wal, segments: 4, rng: &rng)
            let before = try Self.names(wal)
            let bytes = try before.map { try WALRecovery.readFile(wal + "/" + $0, sys: .system) }

            var sys = Syscalls.system
            sys.rename = { _, _ in -EIO }
            let error = #expect(throws: TSDBError.self) {
                try Checkpoint.create(walDirectory: wal, from: 0, to: 2, keep: { _ in false }, minTime: .max, compression: .snappy, sys: sys)
            }
            #expect(error?.code == .io)
            #expect((error?.cause as? Errno)?.code == EIO)
            #expect(try Self.names(wal) == before)     // no checkpoint, no .tmp left behind
            #expect(try before.map { try WALRecovery.readFile(wal + "/" + $0, sys: .system) } == bytes)
            try Self.verifyReplay(dir, w, [])

            // Nothing left in the way of the next attempt.
            let stage = Stage(keep: { _ in false }, minTime: .max, through: 2)
            let stats = try Checkpoint.create(walDirectory: wal, from: 0, to: 2, keep: stage.keep, minTime: stage.minTime, compression: .snappy, sys: .system)
            #expect(stats.droppedSeries == 20 && stats.droppedSamples == stats.totalSamples)
            #expect(try Self.checkpointContents(wal, 2).types.isEmpty)
            try Self.verifyReplay(dir, w, [stage])
        }
    }

    @Test func largeCheckpointKeepsEveryRecordInOrder() throws {
        var rng = SeededRandom.fromEnvironment()
        try TemporaryDirectory.with { dir in
            // 4 × 40 records of 1,000 samples, about 1.7 MB: the checkpoint flushes more than once.
            let wal = dir + "/wal"
            let writer = try WAL(directory: wal, options: WALOptions(segmentSize: 4 << 20, compression: .snappy), sys: .system)
            var out = ByteWriter()
            RecordEncoder.series((1...1000).map { RefSeries(ref: $0, labels: Self.labels($0)) }, into: &out)
            try writer.log([out.bytes])
            var written: [RefSample] = []
            for segment in 0..<4 {
                if segment > 0 { try writer.cutSegment() }
                for step in 0..<40 {
                    let batch = (UInt64(1)...1000).map { RefSample(ref: $0, timestamp: Int64(segment * 40 + step), value: Double(bitPattern: rng.next())) }
                    var w = ByteWriter()
                    RecordEncoder.samples(batch, into: &w)
                    try writer.log([w.bytes])
                    written += batch
                }
            }
            try writer.close()
            let stats = try Checkpoint.create(walDirectory: wal, from: 0, to: 3, keep: { _ in true }, minTime: 0, compression: .snappy, sys: .system)
            #expect(stats.totalSamples == 160_000 && stats.droppedSamples == 0)
            let cp = try Self.checkpointContents(wal, 3)
            #expect(cp.types.count == 161)
            #expect(cp.samples == written)
        }
    }
}
