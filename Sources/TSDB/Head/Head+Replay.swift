import Dispatch

/// What a WAL replay rebuilt.
public struct ReplayStats: Sendable {
    public var series = 0
    public var samples = 0
    /// Samples older than their series' newest (two racing transactions, or a duplicate).
    public var outOfOrder = 0
    /// Samples of series with no series record before them; skipped, as Prometheus does.
    public var unknownRefs = 0
    public var tombstones = 0
    /// Records of types this engine does not know (exemplars, metadata, histograms…).
    public var unknownRecords = 0
    public var seconds = 0.0
    /// Repairs made on the way, one line each, naming segment and offset.
    public var notes: [String] = []
    public var droppedBytes = 0
}

extension Head {
    /// Rebuilds the head from the WAL in `directory`, keeping series references. Runs
    /// before the database accepts appends; not safe to call concurrently with anything.
    func replay(walDirectory directory: String, sys: Syscalls, repair: Bool) throws(TSDBError) -> ReplayStats {
        let started = DispatchTime.now().uptimeNanoseconds
        var stats = ReplayStats()
        var aliases: [UInt64: UInt64] = [:]
        var created: [MemSeries] = []
        var batch: [RefSample] = []
        let options = self.options
        let directoryHandle = series.directoryHandle
        var minT = Int64.max
        var maxT = Int64.min

        let report = try WALRecovery.read(directory: directory, sys: sys, repair: repair) { record, file, offset throws(TSDBError) in
            switch record.first {
            case RecordType.series.rawValue:
                for s in try RecordDecoder.series(record, file: file, offset: offset) {
                    let (found, isNew) = try series.getOrCreate(s.labels, ref: s.ref)
                    let m = found.takeUnretainedValue()
                    if isNew {
                        m.state.withLock { $0.indexed = true }
                        created.append(m)
                        stats.series += 1
                    } else if m.ref != s.ref {
                        // The same labels under a second reference: Prometheus maps it too.
                        aliases[s.ref] = m.ref
                    }
                }
            case RecordType.samples.rawValue:
                batch.removeAll(keepingCapacity: true)
                try RecordDecoder.samples(record, into: &batch, file: file, offset: offset)
                for s in batch {
                    let ref = aliases[s.ref] ?? s.ref
                    guard let m = directoryHandle.lookup(ref) else {
                        stats.unknownRefs += 1
                        continue
                    }
                    let outcome = m._withUnsafeGuaranteedRef { series in
                        series.state.withLock { $0.commit(timestamp: s.timestamp, value: s.value, options: options) }
                    }
                    switch outcome {
                    case .appended:
                        stats.samples += 1
                        if s.timestamp < minT { minT = s.timestamp }
                        if s.timestamp > maxT { maxT = s.timestamp }
                    case .duplicate:
                        break
                    case .outOfOrder:
                        stats.outOfOrder += 1
                    }
                }
            case RecordType.tombstones.rawValue:
                // Decoded so damage is caught; deleting from the head arrives with deletion.
                stats.tombstones += try RecordDecoder.tombstones(record, file: file, offset: offset).count
            default:
                stats.unknownRecords += 1
            }
        }
        postings.add(created)
        if minT <= maxT { extendTimeRange(minT: minT, maxT: maxT) }
        stats.notes = report.notes
        if stats.unknownRecords > 0 {
            stats.notes.append("WAL replay skipped \(stats.unknownRecords) record(s) of types this engine does not read (exemplars, metadata, histograms or m-map markers)")
        }
        stats.droppedBytes = report.droppedBytes
        stats.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return stats
    }
}
