import Foundation
import Synchronization
import TSDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``Syscalls`` layer that knows what a power loss would leave of a directory tree, by
/// the strict POSIX rules a careful engine must assume:
///
/// - a file's bytes are durable as of its last successful `fdatasync`/`fsync` (a file never
///   synced comes back empty);
/// - a name created, renamed or unlinked in a directory is durable only once that
///   directory has been fsynced (until then the directory's entries are what its last
///   fsync saw; a directory never fsynced comes back empty).
///
/// It tracks inodes, so renames, hard links and replaced files follow their data. At the
/// first `fsync` it sees nothing but what existed at ``init(root:base:)`` is durable.
/// ``losePower(into:)`` writes the tree as it would be found after the loss into a fresh
/// directory; ``cutPower(atCall:into:)`` does it just before the `n`-th call that changes
/// the file system, after which every such call fails with EIO (the machine is off).
///
/// Thread-safe: calls are serialised, so a loss is atomic with respect to them.
package final class PowerLossSyscalls: @unchecked Sendable {
    // @unchecked: `Node`s are reached only under `state`'s lock.
    private final class Node {
        let isDirectory: Bool
        /// Durable bytes (files); nil: never synced.
        var content: [UInt8]?
        /// Durable entries (directories); nil: never synced.
        var entries: [String: Node]?
        init(isDirectory: Bool) { self.isDirectory = isDirectory }
    }

    private struct State {
        var inodes: [UInt64: Node] = [:]
        var fds: [Int32: String] = [:]
        var root: Node
        var calls = 0
        var cutAt: Int?
        var cutInto: String?
        var dead = false
        /// Bytes of each regular file (by the path it was opened with) as of its last sync.
        var synced: [String: Int] = [:]
    }

    private let state: Mutex<State>
    private let base: Syscalls
    let rootPath: String

    /// Tracks `root`, an existing directory, whose current contents count as durable.
    package init(root: String, base: Syscalls = .system) {
        self.base = base
        rootPath = root
        var st = FileStatus()
        _ = base.lstat(root, &st)
        let node = Node(isDirectory: true)
        var initial = State(root: node)
        initial.inodes[UInt64(st.st_ino)] = node
        Self.captureTree(root, node, base: base, inodes: &initial.inodes)
        state = Mutex(initial)
    }

    /// Calls that changed the file system so far.
    package var calls: Int { state.withLock { $0.calls } }
    /// The size of each file (by the path it was opened with) at its last successful sync.
    package var syncedSizes: [String: Int] { state.withLock { $0.synced } }

    /// Whether ``cutPower(atCall:into:)`` has happened.
    package var isOff: Bool { state.withLock { $0.dead } }

    /// Loses power just before call number `n` (1-based, counting from now) that changes
    /// the file system: the surviving tree is written into `shadow`.
    package func cutPower(atCall n: Int, into shadow: String) {
        state.withLock {
            $0.cutAt = $0.calls + n
            $0.cutInto = shadow
        }
    }

    /// Writes what survives a power loss now into `shadow` (created; it must not exist).
    /// The tracked tree goes on working.
    package func losePower(into shadow: String) throws {
        try state.withLock { s in try Self.materialize(s.root, at: shadow) }
    }

    private static func materialize(_ node: Node, at path: String) throws {
        if node.isDirectory {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            for (name, child) in node.entries ?? [:] { try materialize(child, at: path + "/" + name) }
        } else {
            FileManager.default.createFile(atPath: path, contents: Data(node.content ?? []))
        }
    }

    /// Records everything under `path` as durable (the state before tracking began).
    private static func captureTree(_ path: String, _ node: Node, base: Syscalls, inodes: inout [UInt64: Node]) {
        if node.isDirectory {
            var names: [String] = []
            _ = base.listDirectory(path, &names)
            var entries: [String: Node] = [:]
            for name in names {
                var st = FileStatus()
                guard base.lstat(path + "/" + name, &st) == 0 else { continue }
                let child = inodes[UInt64(st.st_ino)] ?? Node(isDirectory: st.st_mode & S_IFMT == S_IFDIR)
                inodes[UInt64(st.st_ino)] = child
                captureTree(path + "/" + name, child, base: base, inodes: &inodes)
                entries[name] = child
            }
            node.entries = entries
        } else {
            node.content = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
        }
    }

    /// Counts a call that changes the file system; false when the power is off (or goes
    /// off now).
    private func admit(_ s: inout State) -> Bool {
        if s.dead { return false }
        s.calls += 1
        if let at = s.cutAt, s.calls >= at {
            if let into = s.cutInto { try? Self.materialize(s.root, at: into) }
            s.dead = true
            return false
        }
        return true
    }

    private static func node(_ s: inout State, ino: UInt64, isDirectory: Bool) -> Node {
        if let n = s.inodes[ino], n.isDirectory == isDirectory { return n }
        let n = Node(isDirectory: isDirectory)
        s.inodes[ino] = n
        return n
    }

    /// What a successful sync of `fd` makes durable.
    private func synced(_ fd: Int32, _ s: inout State) {
        var st = FileStatus()
        guard base.fstat(fd, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            guard let path = s.fds[fd] else { return }
            let dir = Self.node(&s, ino: UInt64(st.st_ino), isDirectory: true)
            var names: [String] = []
            _ = base.listDirectory(path, &names)
            var entries: [String: Node] = [:]
            for name in names {
                var child = FileStatus()
                guard base.lstat(path + "/" + name, &child) == 0 else { continue }
                entries[name] = Self.node(&s, ino: UInt64(child.st_ino), isDirectory: child.st_mode & S_IFMT == S_IFDIR)
            }
            dir.entries = entries
        } else {
            let file = Self.node(&s, ino: UInt64(st.st_ino), isDirectory: false)
            let content = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: "/proc/self/fd/\(fd)")))) ?? []
            file.content = content
            if let path = s.fds[fd] { s.synced[path] = content.count }
        }
    }

    /// Forgets the inode at `path` if the call about to remove it removes its last name;
    /// its node lives on in durable entries that still name it.
    private func inodeDying(at path: String) -> UInt64? {
        var st = FileStatus()
        guard base.lstat(path, &st) == 0 else { return nil }
        return st.st_mode & S_IFMT == S_IFDIR || st.st_nlink <= 1 ? UInt64(st.st_ino) : nil
    }

    package var syscalls: Syscalls {
        var sys = base
        let base = self.base
        sys.open = { [self] path, flags, mode in
            state.withLock { s in
                let writes = flags & (O_CREAT | O_TRUNC | O_WRONLY | O_RDWR) != 0
                if writes && !admit(&s) { return -EIO }
                let fd = base.open(path, flags, mode)
                if fd >= 0 { s.fds[fd] = path }
                return fd
            }
        }
        sys.close = { [self] fd in
            state.withLock { s in
                s.fds[fd] = nil
                return base.close(fd)
            }
        }
        sys.write = { [self] fd, bytes in
            state.withLock { s in admit(&s) ? base.write(fd, bytes) : -Int(EIO) }
        }
        sys.ftruncate = { [self] fd, length in
            state.withLock { s in admit(&s) ? base.ftruncate(fd, length) : -EIO }
        }
        sys.fdatasync = { [self] fd in
            state.withLock { s in
                guard admit(&s) else { return -EIO }
                let r = base.fdatasync(fd)
                if r == 0 { synced(fd, &s) }
                return r
            }
        }
        sys.fsync = { [self] fd in
            state.withLock { s in
                guard admit(&s) else { return -EIO }
                let r = base.fsync(fd)
                if r == 0 { synced(fd, &s) }
                return r
            }
        }
        sys.mkdir = { [self] path, mode in
            state.withLock { s in admit(&s) ? base.mkdir(path, mode) : -EIO }
        }
        sys.link = { [self] from, to in
            state.withLock { s in admit(&s) ? base.link(from, to) : -EIO }
        }
        sys.unlink = { [self] path in
            state.withLock { s in
                guard admit(&s) else { return -EIO }
                let dying = inodeDying(at: path)
                let r = base.unlink(path)
                if r == 0, let dying { s.inodes[dying] = nil }
                return r
            }
        }
        sys.rmdir = { [self] path in
            state.withLock { s in
                guard admit(&s) else { return -EIO }
                let dying = inodeDying(at: path)
                let r = base.rmdir(path)
                if r == 0, let dying { s.inodes[dying] = nil }
                return r
            }
        }
        sys.rename = { [self] from, to in
            state.withLock { s in
                guard admit(&s) else { return -EIO }
                var a = FileStatus()
                var b = FileStatus()
                let replaced = base.lstat(from, &a) == 0 && base.lstat(to, &b) == 0 && a.st_ino != b.st_ino ? inodeDying(at: to) : nil
                let r = base.rename(from, to)
                if r == 0, let replaced { s.inodes[replaced] = nil }
                return r
            }
        }
        return sys
    }
}
