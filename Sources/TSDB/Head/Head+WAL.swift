extension Head {
    /// Writes a transaction to the WAL: a samples record, preceded by a series record for
    /// each of its series not logged yet. The samples record is encoded and compressed
    /// before the WAL's lock is taken; series records are decided under it, so that a
    /// series record always precedes every sample of its series, whichever transaction
    /// commits first.
    func log(_ pending: ContiguousArray<PendingSample>, unlogged: [Unmanaged<MemSeries>], to wal: WAL) throws(TSDBError) {
        guard !pending.isEmpty else { return }
        var out = ByteWriter(capacity: 17 + pending.count * 28)
        RecordEncoder.samples(pending.lazy.map { p in
            RefSample(ref: p.series._withUnsafeGuaranteedRef { $0.ref }, timestamp: p.timestamp, value: p.value)
        }, into: &out)
        if unlogged.isEmpty {
            try wal.log([out.bytes])
            return
        }
        var claimed: [MemSeries] = []
        try wal.log([out.bytes], leading: {
            for u in unlogged {
                let s = u.takeUnretainedValue()
                if !s.walLogged.load(ordering: .relaxed) {
                    s.walLogged.store(true, ordering: .relaxed)
                    claimed.append(s)
                }
            }
            guard !claimed.isEmpty else { return nil }
            var w = ByteWriter(capacity: claimed.count * 64)
            RecordEncoder.series(claimed.map { RefSeries(ref: $0.ref, labels: $0.labels) }, into: &w)
            return w.bytes
        }, onFailure: {
            for s in claimed { s.walLogged.store(false, ordering: .relaxed) }
        })
    }
}
