import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The parallel replay (``ReplayPipeline``) against a plain model of the records, read one
/// by one through the sequential reader: random WALs with series records, duplicate series
/// records under new references (aliases), tombstones, records of unknown types, records
/// spanning many pages and pieces, under every split of the work, damaged or not.
@Suite(.heavy) struct ReplayPipelineTests {
    static let tunings: [ReplayTuning] = [
        ReplayTuning(threads: 1, pieces: 1), ReplayTuning(threads: 2, pieces: 1),
        ReplayTuning(threads: 3, pieces: 2), ReplayTuning(threads: 2, pieces: 8),
    ]

    @Test(arguments: 0..<4)
    func randomWALReplaysAsTheModel(round: Int) throws {
        let seed = SeededRandom.fromEnvironment().seed &+ UInt64(round) &* 104_729
        try Self.check(seed: seed) { _, _ in }
    }

    /// A byte flipped somewhere: the pipeline stops there and the sequential reader's rules
    /// (cut the torn tail, or repair) decide, exactly as for a sequential replay.
    @Test(arguments: 0..<4)
    func damagedWALReplaysAsTheModel(round: Int) throws {
        let seed = SeededRandom.fromEnvironment().seed &+ UInt64(round) &* 130_363
        try Self.check(seed: seed) { wal, rng in try RandomWAL.flipAByte(in: wal, rng: &rng) }
    }

    /// The first record of a segment turned into the last fragment of a record (the header
    /// byte is outside the checksum): a piece would skip it as the tail of a record begun
    /// earlier, but nothing began earlier, so the pipeline hands over at offset 0.
    @Test(arguments: 0..<2)
    func recordTurnedIntoAFragmentAtAPieceStart(round: Int) throws {
        let seed = SeededRandom.fromEnvironment().seed &+ UInt64(round) &* 7_727
        try Self.check(seed: seed) { wal, rng in
            let segments = try WALFormat.segments(in: wal, sys: .system).filter { try TestFiles.read(WALTest.segmentPath(wal, $0)).count > 0 }
            let path = WALTest.segmentPath(wal, segments[Int(rng.next() % UInt64(segments.count))])
            var bytes = try TestFiles.read(path)
            bytes[0] = bytes[0] & ~WALFormat.typeMask | WALFormat.last
            try TestFiles.write(bytes, to: path)
        }
    }

    static func check(seed: UInt64, damage: (_ wal: String, _ rng: inout SeededRandom) throws -> Void) throws {
        var rng = SeededRandom(seed: seed)
        try TemporaryDirectory.with { dir in
            let source = dir + "/source"
            let compression = [WALCompression.snappy, .none, .lz4][Int(rng.next() % 3)]
            try RandomWAL.write(to: source + "/wal", compression: compression, rng: &rng)
            try damage(source + "/wal", &rng)

            // The model reads a copy through the sequential reader, with repair.
            let reference = dir + "/reference"
            try FileManager.default.copyItem(atPath: source, toPath: reference)
            var model = RecordModel()
            _ = try WALRecovery.read(directory: reference + "/wal", sys: .system, repair: true) { record, file, offset throws(TSDBError) in
                try model.apply(record, file: file, offset: offset)
            }

            for (i, tuning) in tunings.enumerated() {
                let copy = dir + "/replay\(i)"
                try FileManager.default.copyItem(atPath: source, toPath: copy)
                var options = Options()
                options.compactionEnabled = false
                options.repairWAL = true
                options.replayTuning = tuning
                let db = try DB.open(directory: copy, options: options)
                defer { try? db.close() }
                let context = "seed \(seed), \(compression), threads \(tuning.threads), \(tuning.pieces) page(s) a piece"
                if let d = try ModelQuery.difference(db, model.visible, selector: "m") {
                    Issue.record("\(context): \(d)")
                }
                let stats = db.replayStats
                #expect(stats.series == model.series, "\(context): series")
                #expect(stats.samples == model.samples, "\(context): samples")
                #expect(stats.outOfOrder == model.outOfOrder, "\(context): out of order")
                #expect(stats.unknownRefs == model.unknownRefs, "\(context): unknown references")
                #expect(stats.tombstones == model.tombstones, "\(context): tombstones")
                #expect(stats.unknownRecords == model.unknownRecords, "\(context): records of unknown types")
            }
        }
    }
}

/// What a replay must make of WAL records read in order, kept plainly.
struct RecordModel {
    var labelsByRef: [UInt64: Labels] = [:]
    var refByLabels: [Labels: UInt64] = [:]
    var aliases: [UInt64: UInt64] = [:]
    var samplesByRef: [UInt64: [Sample]] = [:]
    var deleted: [UInt64: [(Int64, Int64)]] = [:]
    var series = 0, samples = 0, outOfOrder = 0, unknownRefs = 0, tombstones = 0, unknownRecords = 0

    mutating func apply(_ record: [UInt8], file: String, offset: Int) throws(TSDBError) {
        switch record.first {
        case RecordType.series.rawValue:
            for s in try RecordDecoder.series(record, file: file, offset: offset) {
                if let real = refByLabels[s.labels] {
                    if real != s.ref { aliases[s.ref] = real }
                } else {
                    refByLabels[s.labels] = s.ref
                    labelsByRef[s.ref] = s.labels
                    series += 1
                }
            }
        case RecordType.samples.rawValue:
            var decoded: [RefSample] = []
            try RecordDecoder.samples(record, into: &decoded, file: file, offset: offset)
            for s in decoded {
                let ref = aliases[s.ref] ?? s.ref
                guard labelsByRef[ref] != nil else {
                    unknownRefs += 1
                    continue
                }
                let last = samplesByRef[ref]?.last
                if let last, s.timestamp <= last.timestamp {
                    if s.timestamp < last.timestamp || s.value.bitPattern != last.value.bitPattern { outOfOrder += 1 }
                    continue
                }
                samplesByRef[ref, default: []].append(Sample(timestamp: s.timestamp, value: s.value))
                samples += 1
            }
        case RecordType.tombstones.rawValue:
            for t in try RecordDecoder.tombstones(record, file: file, offset: offset) {
                deleted[aliases[t.ref] ?? t.ref, default: []].append((t.minTime, t.maxTime))
                tombstones += 1
            }
        default:
            unknownRecords += 1
        }
    }

    /// What queries must show: every series' samples outside its deleted intervals.
    var visible: SampleModel {
        var out: SampleModel = [:]
        for (ref, labels) in labelsByRef {
            let stones = deleted[ref] ?? []
            let kept = (samplesByRef[ref] ?? []).filter { s in !stones.contains { s.timestamp >= $0.0 && s.timestamp <= $0.1 } }
            if !kept.isEmpty { out[labels] = kept }
        }
        return out
    }
}

/// Random WAL contents, written by the engine's own writer.
enum RandomWAL {
    static func write(to directory: String, compression: WALCompression, rng: inout SeededRandom) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let wal = try WAL(directory: directory, options: WALOptions(segmentSize: 8 * WALTest.page, compression: compression), sys: .system)
        var nextRef: UInt64 = 1
        var refs: [UInt64] = []            // every reference logged, aliases included
        var labelsOf: [UInt64: Labels] = [:]
        var lastTime: [UInt64: Int64] = [:]
        var t: Int64 = 1_000_000
        for _ in 0..<(150 + Int(rng.next() % 150)) {
            var w = ByteWriter()
            switch rng.next() % 20 {
            case 0, 1, 2:
                // New series, and now and then known labels under a new reference.
                var batch: [RefSeries] = []
                for _ in 0..<(1 + Int(rng.next() % (rng.next() % 8 == 0 ? 400 : 6))) {
                    let labels: Labels
                    if !labelsOf.isEmpty && rng.next() % 6 == 0 {
                        labels = labelsOf[refs[Int(rng.next() % UInt64(refs.count))]]!
                    } else {
                        labels = try Labels(["__name__": "m", "s": "\(nextRef)", "pad": String(repeating: "x", count: Int(rng.next() % 40))])
                    }
                    batch.append(RefSeries(ref: nextRef, labels: labels))
                    labelsOf[nextRef] = labels
                    refs.append(nextRef)
                    nextRef += 1
                }
                RecordEncoder.series(batch, into: &w)
            case 3:
                guard !refs.isEmpty else { continue }
                var stones: [RefTombstone] = []
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    let ref = refs[Int(rng.next() % UInt64(refs.count))]
                    let hi = lastTime[ref] ?? t
                    stones.append(RefTombstone(ref: ref, minTime: hi - Int64(rng.next() % 200_000), maxTime: hi))
                }
                RecordEncoder.tombstones(stones, into: &w)
            case 4:
                // Exemplars, metadata and the like, or an empty record.
                w.writeBytes(rng.next() % 4 == 0 ? [] : [UInt8(4 + rng.next() % 8)] + WALTest.randomBytes(Int(rng.next() % 300), &rng))
            default:
                guard !refs.isEmpty else { continue }
                var batch: [RefSample] = []
                let count = rng.next() % 10 == 0 ? 2_000 + Int(rng.next() % 20_000) : 1 + Int(rng.next() % 300)
                for _ in 0..<count {
                    var ref = refs[Int(rng.next() % UInt64(refs.count))]
                    if rng.next() % 200 == 0 { ref = 1_000_000 + rng.next() % 100 }  // never logged
                    t += Int64(rng.next() % 50)
                    var ts = t
                    if rng.next() % 50 == 0 { ts -= Int64(rng.next() % 100_000) }  // out of order
                    lastTime[ref] = Swift.max(lastTime[ref] ?? .min, ts)
                    batch.append(RefSample(ref: ref, timestamp: ts, value: Double(rng.next() % 1_000) / 8))
                }
                RecordEncoder.samples(batch, into: &w)
            }
            try wal.log([w.bytes])
        }
        try wal.close()
    }

    /// Flips one bit somewhere in one segment.
    static func flipAByte(in directory: String, rng: inout SeededRandom) throws {
        let segments = try WALFormat.segments(in: directory, sys: .system)
        let nonEmpty = try segments.filter { try TestFiles.read(WALTest.segmentPath(directory, $0)).count > 0 }
        guard !nonEmpty.isEmpty else { return }
        let path = WALTest.segmentPath(directory, nonEmpty[Int(rng.next() % UInt64(nonEmpty.count))])
        var bytes = try TestFiles.read(path)
        bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1) << (rng.next() % 8)
        try TestFiles.write(bytes, to: path)
    }
}
