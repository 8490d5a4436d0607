import TSDB

/// The raw-reader surface that `tsdb-inspect` uses beside the public API. Nothing here
/// writes to the directories it reads.
package enum Inspect {}

/// A persisted block as `promtool tsdb list` shows it: its meta and its size on disk.
package struct InspectedBlock: Sendable {
    package let directory: String
    package let meta: BlockMeta
    /// Bytes of the chunk segments, the index, the tombstones and `meta.json`: Prometheus's
    /// `Block.Size()`.
    package let size: Int64
}

extension Inspect {
    /// What a data directory holds, checked before a command reads it.
    package enum DirectoryKind: Sendable, Equatable {
        /// Blocks, a WAL or other files the engine writes; or nothing at all.
        case dataDirectory
        /// A single block (it holds `meta.json`); its parent is the data directory.
        case block
        /// Files, none of which the engine writes.
        case other(firstEntry: String)
    }

    /// Classifies `directory`. Throws `.notFound` when it does not exist and
    /// `.invalidArgument` when it is not a directory.
    package static func classify(_ directory: String) throws(TSDBError) -> DirectoryKind {
        guard FileSystem.size(directory, sys: .system) != nil else {
            throw TSDBError(.notFound, "no such directory: \(directory)", location: .init(file: directory))
        }
        guard FileSystem.isDirectory(directory, sys: .system) else {
            throw TSDBError(.invalidArgument, "\(directory) is a file, not a data directory", location: .init(file: directory))
        }
        let names = (try FileSystem.list(directory, sys: .system) ?? []).sorted()
        if names.contains(BlockMeta.fileName) { return .block }
        let known: Set<String> = ["wal", "chunks_head", "lock", "queries.active", "wbl"]
        for name in names {
            if known.contains(name) || ULID(name) != nil || name.hasSuffix(BlockWriter.creationSuffix)
                || name.hasSuffix(BlockWriter.deletionSuffix) || name.hasSuffix(".tmp") || name.hasPrefix(".") {
                continue
            }
            return .other(firstEntry: name)
        }
        return .dataDirectory
    }

    /// Throws a clear `.invalidArgument` unless `directory` is a data directory (see
    /// ``classify(_:)``).
    package static func requireDataDirectory(_ directory: String) throws(TSDBError) {
        switch try classify(directory) {
        case .dataDirectory: return
        case .block:
            throw TSDBError(.invalidArgument, "\(directory) is a block, not a data directory; pass the directory that holds it: \(FileSystem.parentDirectory(of: directory))",
                            location: .init(file: directory))
        case .other(let entry):
            throw TSDBError(.invalidArgument, "\(directory) is not a data directory: it holds \(entry), which is neither a block, a WAL nor any other file the database writes",
                            location: .init(file: directory + "/" + entry))
        }
    }

    /// The blocks of `directory` by start time, opened read-only and closed again, with their
    /// sizes. Leftovers of interrupted writes are ignored, not removed.
    /// - Throws: `.corruption` naming the file for a block that does not open.
    package static func blocks(in directory: String) throws(TSDBError) -> [InspectedBlock] {
        let (blocks, _) = try BlockLoader.load(directory: directory, sys: .system, readOnly: true)
        defer { for b in blocks { b.close() } }
        var out: [InspectedBlock] = []
        for b in blocks {
            var size = Int64(b.tombstonesSize)
            size += FileSystem.size(b.directory + "/index", sys: .system) ?? 0
            size += FileSystem.size(b.directory + "/" + BlockMeta.fileName, sys: .system) ?? 0
            for name in (try? ChunkSegmentFormat.segmentNames(in: b.directory + "/chunks", sys: .system)) ?? [] {
                size += FileSystem.size(b.directory + "/chunks/" + name, sys: .system) ?? 0
            }
            out.append(InspectedBlock(directory: b.directory, meta: b.meta, size: size))
        }
        return out
    }
}
