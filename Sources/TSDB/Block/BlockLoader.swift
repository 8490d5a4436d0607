/// Finds and opens the blocks of a data directory, as Prometheus's `reloadBlocks` does on
/// open: leftovers of interrupted writes are removed, every subdirectory named by a ULID is
/// opened, and blocks overlapping in time are reported (and still queried).
enum BlockLoader {
    /// With `readOnly`, leftovers are left alone (they are not named by a ULID, so they are
    /// not loaded either).
    static func load(directory: String, sys: Syscalls, readOnly: Bool = false) throws(TSDBError) -> (blocks: [Block], warnings: [String]) {
        if !readOnly { _ = try BlockWriter.removeLeftovers(in: directory, sys: sys) }
        var blocks: [Block] = []
        for name in (try FileSystem.list(directory) ?? []).sorted() where ULID(name) != nil {
            blocks.append(try Block.open(directory: directory + "/" + name, sys: sys))
        }
        blocks.sort { ($0.meta.minTime, $0.meta.ulid) < ($1.meta.minTime, $1.meta.ulid) }
        var warnings: [String] = []
        // Sorted by start: a block overlaps an earlier one when it starts before the latest
        // end seen so far.
        var latest: Block?
        for b in blocks {
            if let a = latest, b.meta.minTime < a.meta.maxTime {
                warnings.append("blocks \(a.meta.ulid) [\(a.meta.minTime), \(a.meta.maxTime)) and \(b.meta.ulid) [\(b.meta.minTime), \(b.meta.maxTime)) overlap; queries merge them")
            }
            if latest == nil || b.meta.maxTime > latest!.meta.maxTime { latest = b }
        }
        return (blocks, warnings)
    }
}
