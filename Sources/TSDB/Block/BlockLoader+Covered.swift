/// Opening a data directory's blocks the way Prometheus's `reloadBlocks` does, including
/// the deletion of blocks whose data another block already holds (FORMAT.md §12.4). This
/// is what makes a crash between "compacted block renamed into place" and "parents
/// deleted" harmless: the next open finishes the deletion.
extension BlockLoader {
    /// What ``loadRemovingCovered(directory:sys:readOnly:)`` found.
    struct Loaded {
        /// The blocks to serve, by `minTime` then ULID.
        var blocks: [Block]
        /// Blocks deleted (or, read-only, left out) because another block covers them or
        /// they were marked deletable.
        var deleted: [ULID]
        /// One line per deleted block, saying why, then one per pair of overlapping blocks.
        var notes: [String]
    }

    /// Removes leftovers of interrupted writes and deletions, opens every block, and deletes
    /// crash-safely (``BlockWriter/delete(directory:ulid:sys:)``):
    /// - every block that another loaded block lists among its `compaction.parents`, as
    ///   Prometheus does — provided each of its `sources` is among the sources of the
    ///   blocks kept, so that a malformed meta can never make data disappear;
    /// - every block whose meta says `deletable` (a compaction of it held no sample);
    /// - a block that does not open (damaged) but is a parent of a loaded block, since its
    ///   data is there; any other block that does not open fails the whole load, as before.
    ///
    /// With `readOnly` nothing is removed or deleted: covered blocks are only left out.
    /// - Throws: the first error of a block that fails to open and is not covered,
    ///   `.io` if a deletion fails (the blocks opened are closed then).
    static func loadRemovingCovered(directory: String, sys: Syscalls, readOnly: Bool = false) throws(TSDBError) -> Loaded {
        if !readOnly { _ = try BlockWriter.removeLeftovers(in: directory, sys: sys) }
        var opened: [Block] = []
        var failures: [(ulid: ULID, error: TSDBError)] = []
        for name in (try FileSystem.list(directory, sys: sys) ?? []).sorted() {
            guard let ulid = ULID(name) else { continue }
            do throws(TSDBError) {
                opened.append(try Block.open(directory: DataDirectory(directory).block(name), sys: sys))
            } catch {
                failures.append((ulid, error))
            }
        }
        // Parent → the block that lists it.
        var coveredBy: [ULID: ULID] = [:]
        for b in opened {
            for p in b.meta.compaction.parents where p.ulid != b.meta.ulid { coveredBy[p.ulid] = b.meta.ulid }
        }
        if let failure = failures.first(where: { coveredBy[$0.ulid] == nil }) {
            for b in opened { b.close() }
            throw failure.error
        }

        var kept: [Block] = []
        var doomed: [(block: Block, reason: String)] = []
        for b in opened {
            if b.meta.compaction.deletable {
                doomed.append((b, "marked deletable"))
            } else if let child = coveredBy[b.meta.ulid] {
                doomed.append((b, "its data is in block \(child)"))
            } else {
                kept.append(b)
            }
        }
        // Keep a covered block after all if some of its sources would otherwise be lost.
        let keptSources = Set(kept.flatMap(\.meta.compaction.sources))
        var notes: [String] = []
        doomed.removeAll { entry in
            let b = entry.block
            guard !b.meta.compaction.deletable else { return false }
            let missing = b.meta.compaction.sources.filter { !keptSources.contains($0) }
            guard !missing.isEmpty else { return false }
            kept.append(b)
            notes.append("block \(b.meta.ulid) is listed as a parent of block \(coveredBy[b.meta.ulid].map { "\($0)" } ?? "?") but holds sources no other block has (\(missing.map(\.description).joined(separator: ", "))); kept")
            return true
        }

        var deleted: [ULID] = []
        do throws(TSDBError) {
            for (b, reason) in doomed {
                b.close()
                if !readOnly { try BlockWriter.delete(directory: directory, ulid: b.meta.ulid, sys: sys) }
                deleted.append(b.meta.ulid)
                notes.append("\(readOnly ? "left out" : "deleted") block \(b.meta.ulid) [\(b.meta.minTime), \(b.meta.maxTime)): \(reason)")
            }
            for (ulid, error) in failures {
                if !readOnly { try BlockWriter.delete(directory: directory, ulid: ulid, sys: sys) }
                deleted.append(ulid)
                notes.append("\(readOnly ? "left out" : "deleted") block \(ulid), which does not open (\(error.message)): its data is in block \(coveredBy[ulid].map { "\($0)" } ?? "?")")
            }
        } catch {
            for b in kept { b.close() }
            throw error
        }

        kept.sort { ($0.meta.minTime, $0.meta.ulid) < ($1.meta.minTime, $1.meta.ulid) }
        // Sorted by start: a block overlaps an earlier one when it starts before the latest
        // end seen so far.
        var latest: Block?
        for b in kept {
            if let a = latest, b.meta.minTime < a.meta.maxTime {
                notes.append("blocks \(a.meta.ulid) [\(a.meta.minTime), \(a.meta.maxTime)) and \(b.meta.ulid) [\(b.meta.minTime), \(b.meta.maxTime)) overlap; queries merge them")
            }
            if latest.map({ b.meta.maxTime > $0.meta.maxTime }) ?? true { latest = b }
        }
        return Loaded(blocks: kept, deleted: deleted, notes: notes)
    }
}
