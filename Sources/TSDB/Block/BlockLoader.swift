/// Finds and opens the blocks of a data directory, as Prometheus's `reloadBlocks` does on
/// open: leftovers of interrupted writes are removed, every subdirectory named by a ULID is
/// opened, blocks whose data another block holds (compaction parents, blocks marked
/// deletable) are deleted, and blocks overlapping in time are reported (and still queried).
/// The rules are in ``loadRemovingCovered(directory:sys:readOnly:)``.
package enum BlockLoader {
    /// ``loadRemovingCovered(directory:sys:readOnly:)`` with its notes as warnings: one line
    /// per block deleted as covered, one per overlapping pair.
    ///
    /// With `readOnly`, nothing on disk changes: leftovers are left alone (they are not
    /// named by a ULID, so they are not loaded either) and covered blocks are left out of the
    /// result instead of deleted.
    package static func load(directory: String, sys: Syscalls, readOnly: Bool = false) throws(TSDBError) -> (blocks: [Block], warnings: [String]) {
        let loaded = try loadRemovingCovered(directory: directory, sys: sys, readOnly: readOnly)
        return (loaded.blocks, loaded.notes)
    }
}
