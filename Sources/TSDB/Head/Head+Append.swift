/// What `append` decided about one sample, under the series lock.
enum AppendVerdict {
    case accept
    case duplicateSameValue
    case outOfOrder(newest: Int64)
    case duplicateDifferentValue
}

extension MemSeries {
    /// Checks a sample against the newest one of the series: the committed one, or the
    /// transaction's own newest pending one. Marks the sample as pending for `appender`.
    @inline(__always)
    func check(timestamp t: Int64, valueBits: UInt64, appender id: UInt64) -> AppendVerdict {
        state.withLock { st in
            let own = st.pendingOwner == id
            let newest = own ? st.pendingTime : st.maxTime
            if t < newest { return .outOfOrder(newest: newest) }
            if t == newest {
                let bits = own ? st.pendingValueBits : st.resolvedLastValueBits()
                return bits == valueBits ? .duplicateSameValue : .duplicateDifferentValue
            }
            st.pendingOwner = id
            st.pendingTime = t
            st.pendingValueBits = valueBits
            return .accept
        }
    }
}

extension Head {
    /// Commits a transaction: writes it to the WAL, then applies it, all with the commit
    /// gate held shared. A query snapshot therefore sees all of it or none, and a head
    /// truncation (which raises the minimum valid time under the gate held exclusively)
    /// never overlaps it. Samples older than the minimum valid time by now (the appender
    /// was made before a block was cut) are dropped and counted, in the WAL and in memory
    /// alike. If the WAL write fails, nothing is applied and the error is thrown.
    func commit(_ pending: ContiguousArray<PendingSample>, unlogged: [Unmanaged<MemSeries>], wal: WAL, appender id: UInt64) throws(TSDBError) {
        guard !pending.isEmpty else { return }
        try commitGate.withReadLock { () throws(TSDBError) in
            let minValid = minValidTime
            var batch = pending
            if pending.contains(where: { $0.timestamp < minValid }) {
                batch = pending.filter { $0.timestamp >= minValid }
                stats.droppedAtCommit.add(pending.count - batch.count, ordering: .relaxed)
                for p in pending where p.timestamp < minValid {
                    p.series._withUnsafeGuaranteedRef { s in
                        s.state.withLock { st in if st.pendingOwner == id { st.pendingOwner = 0 } }
                    }
                }
            }
            do throws(TSDBError) {
                try log(batch, unlogged: unlogged, to: wal)
            } catch {
                rollback(batch, appender: id)
                throw error
            }
            apply(batch, appender: id)
        }
    }

    /// Applies a transaction's samples; the caller holds the commit gate shared. Returns how
    /// many samples were stored.
    @discardableResult
    func apply(_ pending: ContiguousArray<PendingSample>, appender id: UInt64) -> Int {
        guard !pending.isEmpty else { return 0 }
        let options = self.options
        let headChunks = self.headChunks
        do {
            var newSeries: [MemSeries] = []
            var minT = Int64.max
            var maxT = Int64.min
            var appended = 0
            var dropped = 0
            for p in pending {
                let (outcome, firstCommit) = p.series._withUnsafeGuaranteedRef { s in
                    s.state.withLock { st -> (CommitOutcome, Bool) in
                        let outcome = st.commit(timestamp: p.timestamp, value: p.value, options: options, headChunks: headChunks, ref: s.ref)
                        if st.pendingOwner == id { st.pendingOwner = 0 }
                        if outcome == .appended && !st.indexed {
                            st.indexed = true
                            return (outcome, true)
                        }
                        return (outcome, false)
                    }
                }
                switch outcome {
                case .appended:
                    appended += 1
                    if p.timestamp < minT { minT = p.timestamp }
                    if p.timestamp > maxT { maxT = p.timestamp }
                    if firstCommit { newSeries.append(p.series.takeUnretainedValue()) }
                case .duplicate:
                    break
                case .outOfOrder:
                    dropped += 1
                }
            }
            postings.add(newSeries)
            if appended > 0 { extendTimeRange(minT: minT, maxT: maxT) }
            stats.samplesAppended.add(appended, ordering: .relaxed)
            if dropped > 0 { stats.droppedAtCommit.add(dropped, ordering: .relaxed) }
            return appended
        }
    }

    /// Raises the minimum valid time with the commit gate held exclusively: every commit
    /// that checked the old value has finished, and every later one drops older samples.
    /// Head compaction calls this before it collects the chunks of a block.
    func closeRange(before t: Int64) {
        commitGate.withWriteLock { raiseMinValidTime(to: t) }
    }

    /// Forgets a transaction's pending marks.
    func rollback(_ pending: ContiguousArray<PendingSample>, appender id: UInt64) {
        for p in pending {
            p.series._withUnsafeGuaranteedRef { s in
                s.state.withLock { st in
                    if st.pendingOwner == id { st.pendingOwner = 0 }
                }
            }
        }
    }
}
