/// The layout of a data directory, as Prometheus's (FORMAT.md §1): the one place that
/// spells the paths in it. A block's own files are named by ``BlockFiles``.
///
///     <path>/lock
///     <path>/wal/                  WAL segments and checkpoints
///     <path>/chunks_head/          the head's chunk files
///     <path>/<ULID>/               a block (also `<ULID>.tmp-for-creation`, `.tmp-for-deletion`)
package struct DataDirectory: Sendable, Hashable, CustomStringConvertible {
    package let path: String

    package init(_ path: String) { self.path = path }

    /// `wal/`: the WAL's segments and checkpoints.
    package var wal: String { path + "/wal" }
    /// `chunks_head/`: the head's memory-mapped chunk files.
    package var headChunks: String { path + "/chunks_head" }
    /// `lock`: held while a database has the directory open.
    package var lock: String { path + "/" + DirectoryLock.fileName }
    /// The directory of the block (or temporary block directory) `name`.
    package func block(_ name: String) -> String { path + "/" + name }

    package var description: String { path }
}
