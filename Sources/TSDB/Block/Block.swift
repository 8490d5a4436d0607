#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A persisted block opened for reading: its meta, index, chunk segments and tombstones
/// (FORMAT.md §8–§10), as Prometheus's `tsdb.Block`.
///
/// Thread-safe. Queries (``select(_:minTime:maxTime:)`` and the label calls) hold a
/// reference while they run; a caller that spans several calls holds one with ``retain()``
/// and ``release()``. ``close()`` refuses new ``retain()`` calls, waits until every reference
/// is released and then drops the mappings; queries made while it waits still run. What a query returns is copied out of the
/// mappings, so it stays valid after the block is closed.
package final class Block: @unchecked Sendable {
    package let directory: String
    /// The block's `meta.json`; a deletion rewrites its tombstone count.
    package var meta: BlockMeta { condition.withLock { currentMeta } }
    /// Size in bytes of the tombstones file, as Prometheus reports it.
    package var tombstonesSize: Int { condition.withLock { currentTombstonesSize } }
    /// Guarded by `condition`.
    private var currentMeta: BlockMeta
    private var currentTombstonesSize: Int

    /// The readers; nil once closed. Guarded by `condition`.
    private var readers: Readers?
    /// References held by queries and callers. Guarded by `condition`.
    private var references = 0
    private var isClosing = false
    private let condition = ConditionLock()

    package struct Readers: Sendable {
        package let index: IndexReader
        package let chunks: ChunkSegmentReader
        let tombstones: TombstoneSet
    }

    private init(directory: String, meta: BlockMeta, readers: Readers, tombstonesSize: Int) {
        self.directory = directory
        self.currentMeta = meta
        self.readers = readers
        self.currentTombstonesSize = tombstonesSize
    }

    /// Opens the block in `directory`: reads `meta.json`, the index, maps the chunk segments
    /// and reads the tombstones (a missing `tombstones` file reads as none, as in Prometheus).
    /// Throws `.notFound` for a missing `meta.json`, `index` or `chunks/`, `.corruption`
    /// naming the file for damage, `.unsupported` for a meta version other than 1.
    static func open(directory: String, sys: Syscalls, mapping: MappingCalls = .system) throws(TSDBError) -> Block {
        let meta = try BlockMeta.read(blockDirectory: directory, sys: sys)
        guard meta.minTime <= meta.maxTime else {
            throw .corruption("block time range [\(meta.minTime), \(meta.maxTime)) is inverted",
                              file: BlockFiles.meta(directory))
        }
        guard meta.minTime >= TimestampDomain.min, meta.maxTime <= TimestampDomain.maxBlockEnd else {
            throw .corruption("block time range [\(meta.minTime), \(meta.maxTime)) outside the storable range [\(TimestampDomain.min), \(TimestampDomain.maxBlockEnd)]",
                              file: BlockFiles.meta(directory))
        }
        let indexPath = BlockFiles.index(directory)
        guard FileSystem.size(indexPath, sys: sys) != nil else {
            throw TSDBError(.notFound, "no index in block \(directory)", location: .init(file: indexPath))
        }
        let index = try IndexReader.open(path: indexPath, sys: sys)
        let chunks = try ChunkSegmentReader(directory: BlockFiles.chunks(directory), sys: sys, mapping: mapping)
        var tombstones = TombstoneSet()
        var tombstonesSize = 0
        if FileSystem.size(BlockFiles.tombstones(directory), sys: sys) != nil {
            (tombstones, tombstonesSize) = try TombstonesFile.read(blockDirectory: directory, sys: sys)
        }
        return Block(directory: directory, meta: meta,
                     readers: Readers(index: index, chunks: chunks, tombstones: tombstones),
                     tombstonesSize: tombstonesSize)
    }

    /// Installs tombstones already written to disk, with the meta written beside them.
    /// Queries that start afterwards see them. Callers serialise deletions of a block.
    func installTombstones(_ tombstones: TombstoneSet, size: Int, meta: BlockMeta) {
        condition.withLock {
            if let r = readers { readers = Readers(index: r.index, chunks: r.chunks, tombstones: tombstones) }
            currentMeta = meta
            currentTombstonesSize = size
        }
    }

    // MARK: References

    /// Takes a reference that keeps the block's files mapped until ``release()``.
    /// Throws `.closed` once ``close()`` has been called.
    func retain() throws(TSDBError) {
        try condition.withLock { () throws(TSDBError) in
            guard !isClosing else { throw TSDBError(.closed, "block \(currentMeta.ulid) is closed") }
            references += 1
        }
    }

    /// Gives back a reference taken with ``retain()``. Each retain needs exactly one release.
    func release() {
        condition.withLock {
            precondition(references > 0, "Block.release() without retain()")
            references -= 1
            if references == 0 { condition.broadcast() }
        }
    }

    /// References currently held.
    var referenceCount: Int { condition.withLock { references } }

    /// Refuses new references, waits until all held ones are released, then drops the
    /// mappings. Blocks the calling thread meanwhile; never call it while holding a
    /// reference yourself. Calling it again does nothing.
    package func close() {
        condition.withLock {
            isClosing = true
            while references > 0 { condition.wait() }
            readers = nil
        }
    }

    /// Runs `body` with the readers under a reference of its own. Allowed while ``close()``
    /// waits, so that a caller holding a ``retain()`` reference can keep querying until it
    /// releases; ``close()`` waits for these references too. Throws `.closed` once closed.
    package func withReaders<T>(_ body: (Readers) throws(TSDBError) -> T) throws(TSDBError) -> T {
        let readers = try condition.withLock { () throws(TSDBError) -> Readers in
            guard let readers = self.readers else { throw TSDBError(.closed, "block \(currentMeta.ulid) is closed") }
            references += 1
            return readers
        }
        defer { release() }
        return try body(readers)
    }
}
