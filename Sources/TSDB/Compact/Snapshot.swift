#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A consistent copy of a database, as Prometheus's `DB.Snapshot`: blocks hard-linked, the
/// head written as a block.
enum Snapshot {
    /// Copies `blocks` (of the data directory `source`) into `target`, and the head's samples
    /// as one more block when `head` is given. Each block is built in
    /// `<ulid>.tmp-for-creation` and renamed into place, so a failure leaves whole blocks
    /// only (the one in progress is removed). The caller keeps the blocks from being deleted
    /// meanwhile (the database's compaction lock).
    static func write(blocks: [Block], head: Head?, from source: String, to target: String, sys: Syscalls) throws(TSDBError) -> [BlockMeta] {
        let resolvedSource = realPath(source, sys: sys)
        try FileSystem.createDirectory(target, sys: sys)
        let resolvedTarget = realPath(target, sys: sys)
        guard resolvedTarget != resolvedSource, !resolvedTarget.hasPrefix(resolvedSource + "/") else {
            throw TSDBError(.invalidArgument, "snapshot target \(target) is inside the data directory \(source)")
        }
        let existing = (try FileSystem.list(target, sys: sys) ?? []).filter { ULID($0) != nil }
        guard existing.isEmpty else {
            throw TSDBError(.invalidArgument, "snapshot target \(target) already holds blocks (\(existing.sorted().joined(separator: ", ")))")
        }
        var metas: [BlockMeta] = []
        for block in blocks {
            try block.retain()
            defer { block.release() }
            metas.append(try copy(block, to: target, sys: sys))
        }
        if let head {
            let lo = head.minTime
            let hi = head.maxTime
            if lo <= hi {
                let series = head.chunks(minTime: lo, maxTime: hi)
                if !series.isEmpty {
                    metas.append(try BlockWriter.write(directory: target, series: series, minTime: lo, maxTime: hi + 1, sys: sys))
                }
            }
        }
        try FileSystem.syncDirectory(target, sys: sys)
        return metas
    }

    /// Hard-links the block's immutable files (`index`, `chunks/*`) and copies its mutable
    /// ones (`meta.json`, `tombstones`) into `target/<ulid>`.
    private static func copy(_ block: Block, to target: String, sys: Syscalls) throws(TSDBError) -> BlockMeta {
        let meta = block.meta
        let final = DataDirectory(target).block(meta.ulid.description)
        let tmp = final + BlockWriter.creationSuffix
        do throws(TSDBError) {
            try FileSystem.removeAll(tmp, sys: sys)
            try FileSystem.createDirectory(BlockFiles.chunks(tmp), sys: sys)
            try link(BlockFiles.index(block.directory), BlockFiles.index(tmp), sys: sys)
            for name in (try FileSystem.list(BlockFiles.chunks(block.directory), sys: sys) ?? []).sorted() {
                try link(block.directory + "/chunks/" + name, tmp + "/chunks/" + name, sys: sys)
            }
            try meta.write(blockDirectory: tmp, sys: sys)
            try TombstonesFile.write(try block.withReaders { $0.tombstones }, blockDirectory: tmp, sys: sys)
            try FileSystem.syncDirectory(BlockFiles.chunks(tmp), sys: sys)
            try FileSystem.syncDirectory(tmp, sys: sys)
            let r = sys.rename(tmp, final)
            guard r == 0 else { throw TSDBError.io("rename \(tmp) to", path: final, errno: -r) }
        } catch {
            _ = try? FileSystem.removeAll(tmp, sys: sys)
            throw error
        }
        return meta
    }

    private static func link(_ from: String, _ to: String, sys: Syscalls) throws(TSDBError) {
        let r = sys.link(from, to)
        guard r == 0 else { throw TSDBError.io("hard-link \(from) to", path: to, errno: -r) }
    }

    private static func realPath(_ path: String, sys: Syscalls) -> String {
        var resolved = path
        return sys.realpath(path, &resolved) == 0 ? resolved : path
    }
}
