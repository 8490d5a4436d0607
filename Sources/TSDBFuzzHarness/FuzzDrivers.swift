import Exposition
@_spi(Chunks) import TSDB

/// What the fuzz harnesses (`tsdb-fuzz`, `TSDBFuzzHarness`) run on each input: one driver
/// per decoder of bytes from disk or from a user, each reading everything the decoder can
/// be asked and checking an invariant where one exists.
///
/// A driver returns normally when the input decoded or was refused with a
/// ``TSDBError`` of the expected kind; it throws ``FuzzFailure`` when an invariant broke
/// (a round trip that disagrees, or an error without code or location). A trap is a crash,
/// as it would be in the engine. Drivers that read directories take one the harness laid
/// out; they may change it (the head chunk loader cuts torn tails). Not thread-safe per
/// directory; otherwise stateless.
package enum FuzzDrivers {
    /// An invariant that a fuzz input broke.
    package struct FuzzFailure: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    /// File syscalls with fsync made a no-op: harness directories are scratch (tmpfs).
    static let scratchSyscalls: Syscalls = {
        var s = Syscalls.system
        s.fsync = { _ in 0 }
        return s
    }()

    /// The error of a reader given `file`: corruption (or an unsupported feature), with a
    /// location naming `file` when one was given.
    static func expectCorruption(_ error: TSDBError, file: String?, _ what: String) throws(FuzzFailure) {
        guard error.code == .corruption || error.code == .unsupported else {
            throw FuzzFailure("\(what): expected corruption, got \(error)")
        }
        if let file {
            guard let location = error.location, let named = location.file, named.hasPrefix(file) || file.hasPrefix(named) else {
                throw FuzzFailure("\(what): corruption does not name \(file): \(error)")
            }
            guard location.offset != nil else { throw FuzzFailure("\(what): corruption names no offset: \(error)") }
        }
    }

    static func attempt<T>(_ body: () throws(TSDBError) -> T) -> Result<T, TSDBError> {
        do throws(TSDBError) { return .success(try body()) } catch { return .failure(error) }
    }

    // MARK: - Index

    /// Opens the bytes as a block index and reads every symbol, every label's values and
    /// postings, and every series the postings name.
    package static func index(_ bytes: [UInt8]) throws(FuzzFailure) {
        let file = "fuzz/index"
        do {
            let reader = try IndexReader(bytes: bytes, file: file)
            let symbols = try reader.symbols()
            for i in 0..<min(symbols.count, 4_096) {
                guard try reader.symbol(UInt64(i)) == symbols[i] else {
                    throw FuzzFailure("symbol(\(i)) differs from symbols()[\(i)]")
                }
            }
            var seen = 0
            for name in [""] + reader.labelNames() {
                let values = name.isEmpty ? [""] : try reader.labelValues(name)
                for value in values {
                    let refs = try reader.postings(name, value)
                    for ref in refs {
                        seen += 1
                        if seen > 20_000 { return }
                        _ = try reader.series(ref)
                    }
                }
            }
        } catch let error as TSDBError {
            try expectCorruption(error, file: file, "index")
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("index: unexpected \(error)")
        }
    }

    // MARK: - Chunks

    /// Decodes the bytes as an XOR chunk. Invariant: the samples, encoded again, decode to
    /// the same samples, and encoding those gives the same bytes (the encoder's fixed point).
    package static func xor(_ bytes: [UInt8]) throws(FuzzFailure) {
        var it = XORIterator(bytes)
        var samples: [Sample] = []
        while let s = it.next() { samples.append(s) }
        if it.error != nil { return }
        try checkXORRoundTrip(samples)
    }

    static func checkXORRoundTrip(_ samples: [Sample]) throws(FuzzFailure) {
        let encoded = XORChunk(encoding: samples)
        let again: [Sample]
        do { again = try encoded.decodeAll() } catch {
            throw FuzzFailure("xor: re-encoded chunk does not decode: \(error)")
        }
        guard again.count == samples.count,
              zip(again, samples).allSatisfy({ $0.timestamp == $1.timestamp && $0.value.bitPattern == $1.value.bitPattern })
        else { throw FuzzFailure("xor: re-encoded chunk decodes to other samples") }
        guard XORChunk(encoding: again).bytes == encoded.bytes else {
            throw FuzzFailure("xor: encoding is not a fixed point")
        }
    }

    /// Opens `directory` as a block's `chunks/` and walks every chunk of every segment, and
    /// reads each again by reference; XOR chunks are decoded and round-tripped.
    package static func chunks(directory: String) throws(FuzzFailure) {
        do {
            let reader = try ChunkSegmentReader(directory: directory, sys: .system)
            for segment in 0..<reader.segmentCount {
                var refs: [ChunkRef] = []
                try reader.forEachChunk(inSegment: segment) { ref, encoding, data throws(TSDBError) in
                    refs.append(ref)
                    if encoding == .xor { _ = try? XORChunk(bytes: Array(data)).decodeAll() }
                }
                for ref in refs.prefix(1_000) {
                    let chunk = try reader.chunk(ref)
                    if chunk.encoding == .xor, let samples = try? XORChunk(bytes: chunk.data).decodeAll() {
                        try checkXORRoundTrip(samples)
                    }
                }
                // References a damaged index could hold: past the end, inside the header.
                for offset in [0, 7, reader.segmentSize(segment), reader.segmentSize(segment) - 1] {
                    _ = try? reader.chunk(ChunkRef(segment: segment, offset: max(0, offset)))
                }
            }
        } catch let error as TSDBError {
            try expectCorruption(error, file: directory, "chunks")
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("chunks: unexpected \(error)")
        }
    }

    // MARK: - meta.json, tombstones

    /// Decodes `meta.json`. Invariant: what it decodes to, encoded and decoded again,
    /// encodes to the same bytes.
    package static func meta(_ bytes: [UInt8]) throws(FuzzFailure) {
        let file = "fuzz/meta.json"
        do {
            let meta = try BlockMeta(decoding: bytes, file: file)
            let once = meta.encoded()
            let twice: [UInt8]
            do { twice = try BlockMeta(decoding: once, file: file).encoded() } catch {
                throw FuzzFailure("meta: its own encoding does not decode: \(error)")
            }
            guard once == twice else { throw FuzzFailure("meta: encoding is not a fixed point") }
        } catch let error as TSDBError {
            try expectCorruption(error, file: file, "meta.json")
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("meta: unexpected \(error)")
        }
    }

    /// Decodes a `tombstones` file. Invariant: the set, encoded, decodes to a set that
    /// encodes to the same bytes (for sets of well-formed intervals).
    package static func tombstones(_ bytes: [UInt8]) throws(FuzzFailure) {
        let file = "fuzz/tombstones"
        do {
            let set = try TombstonesFile.decode(bytes, file: file)
            // Intervals with minTime > maxTime (which no deletion makes, but which Prometheus
            // reads without complaint, as here) break the sorted-and-disjoint order that
            // merging relies on, so the set then depends on the order of the entries.
            if set.contains(where: { $0.intervals.contains { $0.minTime > $0.maxTime } }) { return }
            let once = TombstonesFile.encode(set)
            let twice: [UInt8]
            do { twice = TombstonesFile.encode(try TombstonesFile.decode(once, file: file)) } catch {
                throw FuzzFailure("tombstones: its own encoding does not decode: \(error)")
            }
            guard once == twice else { throw FuzzFailure("tombstones: encoding is not a fixed point") }
        } catch let error as TSDBError {
            try expectCorruption(error, file: file, "tombstones")
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("tombstones: unexpected \(error)")
        }
    }

    // MARK: - WAL

    /// Reads the bytes as one WAL segment, record by record, as far as they are intact, and
    /// decodes each record; at damage, asks whether a valid record follows (the torn-tail
    /// test). Invariant: record and damage offsets lie within the segment.
    package static func walSegment(_ bytes: [UInt8]) throws(FuzzFailure) {
        var reader = SegmentReader(bytes: bytes, path: "fuzz/00000000")
        var count = 0
        do {
            while let (record, offset) = try reader.next() {
                guard offset >= 0, offset < bytes.count else { throw FuzzFailure("wal: record offset \(offset) outside the segment") }
                count += 1
                try records(record)
            }
        } catch let damage as SegmentDamage {
            guard damage.offset >= 0, damage.offset <= bytes.count else {
                throw FuzzFailure("wal: damage offset \(damage.offset) outside the \(bytes.count)-byte segment")
            }
            _ = reader.hasValidRecord(after: damage.offset)
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("wal: unexpected \(error)")
        }
        _ = count
    }

    /// Decodes one WAL record payload by its type byte. Invariants: series, samples and
    /// tombstones records re-encode to records that decode to the same values, and the
    /// replay's ``SampleCursor`` validation agrees with the sequential decoder.
    package static func records(_ record: [UInt8]) throws(FuzzFailure) {
        let file = "fuzz/record"
        do {
            switch record.first {
            case RecordType.series.rawValue:
                let series = try RecordDecoder.series(record, file: file)
                var w = ByteWriter()
                RecordEncoder.series(series, into: &w)
                guard try RecordDecoder.series(w.bytes, file: file) == series else {
                    throw FuzzFailure("records: series record does not round-trip")
                }
            case RecordType.samples.rawValue:
                var samples: [RefSample] = []
                let decoded = attempt { () throws(TSDBError) in try RecordDecoder.samples(record, into: &samples, file: file) }
                let validated = record.withUnsafeBytes { raw in
                    attempt { () throws(TSDBError) in try RecordDecoder.validateSamples(raw, file: file) }
                }
                switch (decoded, validated) {
                case (.success, .success):
                    guard !samples.isEmpty else { return }
                    var w = ByteWriter()
                    RecordEncoder.samples(samples, into: &w)
                    var again: [RefSample] = []
                    try RecordDecoder.samples(w.bytes, into: &again, file: file)
                    guard again == samples else { throw FuzzFailure("records: samples record does not round-trip") }
                case let (.failure(error), .failure):
                    try expectCorruption(error, file: file, "samples record")
                default:
                    throw FuzzFailure("records: validateSamples and samples disagree on a record")
                }
            case RecordType.tombstones.rawValue:
                let stones = try RecordDecoder.tombstones(record, file: file)
                var w = ByteWriter()
                RecordEncoder.tombstones(stones, into: &w)
                guard try RecordDecoder.tombstones(w.bytes, file: file) == stones else {
                    throw FuzzFailure("records: tombstones record does not round-trip")
                }
            case RecordType.mmapMarkers.rawValue:
                let markers = try RecordDecoder.mmapMarkers(record, file: file)
                var w = ByteWriter()
                RecordEncoder.mmapMarkers(markers, into: &w)
                guard w.bytes == record else { throw FuzzFailure("records: m-map markers record does not round-trip") }
            default:
                return
            }
        } catch let error as TSDBError {
            try expectCorruption(error, file: file, "record")
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("records: unexpected \(error)")
        }
    }

    /// Reads the WAL directory `walDirectory` (a checkpoint in it first) read-only, decoding
    /// every record, then compacts it into a new checkpoint and reads that back.
    /// Invariant: the checkpoint the engine writes reads without error.
    package static func checkpoint(walDirectory: String, lastSegment: Int) throws(FuzzFailure) {
        do {
            _ = try WALRecovery.read(directory: walDirectory, sys: scratchSyscalls, repair: false, readOnly: true) { record, _, _ throws(TSDBError) in
                try decodeForReplay(record)
            }
        } catch {
            try expectCorruption(error, file: walDirectory, "checkpoint read")
            return
        }
        do {
            _ = try Checkpoint.create(walDirectory: walDirectory, from: 0, to: lastSegment, keep: { $0 % 3 != 0 }, minTime: 1_000,
                                      compression: .snappy, sys: scratchSyscalls)
        } catch {
            // Checkpointing refuses damage the read-only read skipped as a torn tail.
            try expectCorruption(error, file: walDirectory, "checkpoint create")
            return
        }
        do {
            _ = try WALRecovery.read(directory: walDirectory, sys: scratchSyscalls, repair: false, readOnly: true) { record, _, _ throws(TSDBError) in
                try decodeForReplay(record)
            }
        } catch {
            throw FuzzFailure("checkpoint: the checkpoint just written does not read: \(error)")
        }
    }

    private static func decodeForReplay(_ record: [UInt8]) throws(TSDBError) {
        switch record.first {
        case RecordType.series.rawValue: _ = try RecordDecoder.series(record)
        case RecordType.samples.rawValue:
            var out: [RefSample] = []
            try RecordDecoder.samples(record, into: &out)
        case RecordType.tombstones.rawValue: _ = try RecordDecoder.tombstones(record)
        default: break
        }
    }

    // MARK: - Replay

    /// Replays the data directory's WAL read-only with the parallel pipeline under two
    /// splits of the work, and reads it with the sequential reader into a plain model.
    /// Invariant: all three agree on success or failure and on every count.
    package static func replay(dataDirectory: String) throws(FuzzFailure) {
        var model = ReplayModel()
        let modelResult = attempt { () throws(TSDBError) in
            _ = try WALRecovery.read(directory: dataDirectory + "/wal", sys: scratchSyscalls, repair: false, readOnly: true) { record, file, offset throws(TSDBError) in
                try model.apply(record, file: file, offset: offset)
            }
        }
        for threads in [1, 2] {
            var options = Options()
            options.replayTuning.threads = threads
            options.replayTuning.pieces = 1
            options.syscalls = scratchSyscalls
            let opened = attempt { () throws(TSDBError) in try DB.openReadOnly(directory: dataDirectory, options: options) }
            switch (opened, modelResult) {
            case let (.success(db), .success):
                let stats = db.replayStats
                try? db.close()
                let got = [stats.series, stats.samples, stats.outOfOrder, stats.unknownRefs, stats.tombstones, stats.unknownRecords]
                let want = [model.series, model.samples, model.outOfOrder, model.unknownRefs, model.tombstones, model.unknownRecords]
                guard got == want else {
                    throw FuzzFailure("replay (threads \(options.replayTuning.threads), \(options.replayTuning.pieces) page(s) a piece): series, samples, out of order, unknown refs, tombstones, unknown records \(got); sequential reader \(want)")
                }
            case let (.failure(error), .failure):
                try expectCorruption(error, file: dataDirectory, "replay")
            case let (.success(db), .failure(error)):
                try? db.close()
                throw FuzzFailure("replay (threads \(options.replayTuning.threads)): the pipeline succeeded, the sequential reader failed: \(error)")
            case let (.failure(error), .success):
                throw FuzzFailure("replay (threads \(options.replayTuning.threads)): the pipeline failed, the sequential reader succeeded: \(error)")
            }
        }
    }

    /// What a replay must count of WAL records read in order (the model of
    /// `ReplayPipelineTests`, counts only).
    struct ReplayModel {
        var refByLabels: [Labels: UInt64] = [:]
        var known: Set<UInt64> = []
        var aliases: [UInt64: UInt64] = [:]
        var last: [UInt64: Sample] = [:]
        var series = 0, samples = 0, outOfOrder = 0, unknownRefs = 0, tombstones = 0, unknownRecords = 0

        mutating func apply(_ record: [UInt8], file: String, offset: Int) throws(TSDBError) {
            switch record.first {
            case RecordType.series.rawValue:
                for s in try RecordDecoder.series(record, file: file, offset: offset) {
                    if let real = refByLabels[s.labels] {
                        if real != s.ref { aliases[s.ref] = real }
                    } else {
                        // The head's rules for a reference from the WAL (SeriesTable.getOrCreate).
                        guard s.ref > 0, s.ref <= SeriesTable.maxRef, !known.contains(s.ref) else {
                            throw .corruption("series reference \(s.ref) out of range or naming two label sets", file: file, offset: offset)
                        }
                        refByLabels[s.labels] = s.ref
                        known.insert(s.ref)
                        series += 1
                    }
                }
            case RecordType.samples.rawValue:
                var decoded: [RefSample] = []
                try RecordDecoder.samples(record, into: &decoded, file: file, offset: offset)
                for s in decoded {
                    // Replay drops samples outside the storable range first (TimestampDomain).
                    guard TimestampDomain.contains(s.timestamp) else { continue }
                    let ref = aliases[s.ref] ?? s.ref
                    guard known.contains(ref) else {
                        unknownRefs += 1
                        continue
                    }
                    if let l = last[ref], s.timestamp <= l.timestamp {
                        if s.timestamp < l.timestamp || s.value.bitPattern != l.value.bitPattern { outOfOrder += 1 }
                        continue
                    }
                    last[ref] = Sample(timestamp: s.timestamp, value: s.value)
                    samples += 1
                }
            case RecordType.tombstones.rawValue:
                tombstones += try RecordDecoder.tombstones(record, file: file, offset: offset).count
            default:
                unknownRecords += 1
            }
        }
    }

    // MARK: - chunks_head

    /// Loads the head chunks in `directory` as `DB.open` does (cutting a torn tail, or
    /// discarding all files), and decodes every chunk loaded. Invariant: each series' chunks
    /// are in time order without overlap, as the loader promises. (A chunk whose CRC matches
    /// may still not decode: neither Prometheus nor this loader decodes chunks at load; the
    /// query's iterator reports it.)
    package static func headChunks(directory: String) throws(FuzzFailure) {
        do {
            let loaded = try HeadChunkLoader.load(directory: directory, minValidTime: .min, sys: scratchSyscalls, mapping: .system)
            for (ref, chunks) in loaded.bySeries {
                var previousEnd: Int64?
                for c in chunks {
                    guard c.minTime <= c.maxTime, previousEnd.map({ $0 < c.minTime }) ?? true else {
                        throw FuzzFailure("head chunks: series \(ref) has chunk \(c.minTime)...\(c.maxTime) after one ending at \(previousEnd ?? .min)")
                    }
                    previousEnd = c.maxTime
                    _ = try? c.chunk.decodeAll()
                }
            }
        } catch let error as TSDBError {
            try expectCorruption(error, file: directory, "head chunks")
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("head chunks: unexpected \(error)")
        }
    }

    // MARK: - Text

    /// Parses the bytes (as UTF-8, invalid sequences replaced) as a selector. Invariant: the
    /// matchers printed as `{name op "value", …}` parse to the same matchers.
    package static func selector(_ bytes: [UInt8]) throws(FuzzFailure) {
        let text = String(decoding: bytes, as: UTF8.self)
        let matchers: [Matcher]
        do { matchers = try Selector.parse(text) } catch {
            guard error.code == .invalidSelector || error.code == .invalidMatcher else {
                throw FuzzFailure("selector: unexpected error \(error)")
            }
            return
        }
        let printed = "{" + matchers.map(\.description).joined(separator: ", ") + "}"
        let again: [Matcher]
        do { again = try Selector.parse(printed) } catch {
            throw FuzzFailure("selector: \(goQuote(text)) printed as \(goQuote(printed)) does not parse: \(error)")
        }
        guard again == matchers else {
            throw FuzzFailure("selector: \(goQuote(text)) printed as \(goQuote(printed)) parses to other matchers")
        }
    }

    /// Parses the bytes as the Prometheus text format or OpenMetrics, taking every sample's
    /// labels, as `tsdb-inspect import` does.
    package static func text(_ bytes: [UInt8], openMetrics: Bool) throws(FuzzFailure) {
        let file = "fuzz/input"
        let result: FuzzFailure? = bytes.withUnsafeBytes { raw in
            var parser = TextParser(raw, format: openMetrics ? .openMetrics : .prometheusText, file: file)
            var count = 0
            do throws(TSDBError) {
                while let sample = try parser.next() {
                    count += 1
                    guard sample.series.lowerBound >= 0, sample.series.upperBound <= raw.count else {
                        return FuzzFailure("text: series range \(sample.series) outside the \(raw.count)-byte input")
                    }
                    _ = try? parser.labels(of: sample)
                }
            } catch {
                guard error.code == .invalidArgument || error.code == .invalidLabels else {
                    return FuzzFailure("text: unexpected error \(error)")
                }
            }
            _ = count
            return nil
        }
        if let result { throw result }
    }
}

extension FuzzDrivers {
    /// The record payloads of a WAL segment, as far as it is intact (for seeding corpora).
    package static func records(ofSegment bytes: [UInt8]) -> [[UInt8]] {
        var reader = SegmentReader(bytes: bytes, path: "seed")
        var out: [[UInt8]] = []
        while let next = try? reader.next() { out.append(next.record) }
        return out
    }

    /// The data of every XOR chunk in a chunk segment file (for seeding corpora).
    package static func xorChunks(ofSegmentIn directory: String) -> [[UInt8]] {
        guard let reader = try? ChunkSegmentReader(directory: directory, sys: .system) else { return [] }
        var out: [[UInt8]] = []
        for segment in 0..<reader.segmentCount {
            try? reader.forEachChunk(inSegment: segment) { _, encoding, data in
                if encoding == .xor { out.append(Array(data)) }
            }
        }
        return out
    }
}
