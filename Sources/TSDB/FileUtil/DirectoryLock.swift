#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `lock` file of a data directory, held with `flock(LOCK_EX | LOCK_NB)` for as long as
/// a writable ``DB`` is open, so that a second writer (another process, or a second open in
/// this one) fails at once instead of corrupting the WAL. Prometheus guards its directory
/// with a file of the same name.
///
/// The file itself is left in place on release: removing it would let a third opener lock a
/// fresh inode while a second one still holds the old. The kernel drops the lock when the
/// descriptor closes, so a crashed process never leaves the directory locked.
final class DirectoryLock: Sendable {
    static let fileName = "lock"
    static let retries = 50
    static let retryMicroseconds: UInt32 = 10_000
    let path: String
    private let fd: Int32
    private let sys: Syscalls

    /// Takes the lock of `directory`.
    /// - Throws: ``TSDBError/Code/locked`` naming the directory when someone else holds it,
    ///   ``TSDBError/Code/io`` when the file cannot be created.
    init(directory: String, sys: Syscalls) throws(TSDBError) {
        path = directory + "/" + Self.fileName
        let fd = sys.open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw .io("open lock file", path: path, errno: -fd) }
        var r = sys.flock(fd, LOCK_EX | LOCK_NB)
        // A process spawned anywhere in this one (posix_spawn, fork) holds a copy of every
        // descriptor, this lock's too, until its exec closes the O_CLOEXEC ones; on a loaded
        // machine that takes milliseconds. A DB closed and opened again at that moment would
        // find its own lock still held, so a held lock is tried again for 0.5 s first.
        var tries = 0
        while r == -EWOULDBLOCK && tries < Self.retries {
            usleep(Self.retryMicroseconds)
            tries += 1
            r = sys.flock(fd, LOCK_EX | LOCK_NB)
        }
        guard r == 0 else {
            _ = sys.close(fd)
            if r == -EWOULDBLOCK {
                throw TSDBError(.locked, "the data directory \(directory) is in use: another process (or another open DB in this one) holds \(path)",
                                location: .init(file: path))
            }
            throw .io("lock", path: path, errno: -r)
        }
        self.fd = fd
        self.sys = sys
    }

    /// Gives the lock back.
    func release() { _ = sys.close(fd) }
}
