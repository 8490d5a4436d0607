#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `struct stat`, named so that ``Syscalls`` can have members called `stat`.
package typealias FileStatus = stat

/// The syscalls the engine makes on files, as replaceable functions. Production code uses
/// ``system``; tests swap single entries to inject `ENOSPC`, `EIO` or short writes, or wrap
/// them all to record what the engine does (the fault matrix, simulated power loss).
///
/// Every function returns what the syscall returns, except that a failure is `-errno`
/// instead of `-1` with `errno` set, so an injected fault needs no global state. Nothing
/// in `Sources/TSDB` calls a file syscall any other way (mmap itself is ``MappingCalls``).
package struct Syscalls: Sendable {
    package var open: @Sendable (_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32
    package var write: @Sendable (_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int
    package var pread: @Sendable (_ fd: Int32, _ into: UnsafeMutableRawBufferPointer, _ offset: Int64) -> Int
    /// `fdatasync(2)`: a regular file's data (and the size), as the WAL, chunk and index
    /// writers need.
    package var fdatasync: @Sendable (_ fd: Int32) -> Int32
    /// `fsync(2)`: data and metadata; used for directories, whose entries must be durable.
    package var fsync: @Sendable (_ fd: Int32) -> Int32
    package var ftruncate: @Sendable (_ fd: Int32, _ length: Int64) -> Int32
    package var close: @Sendable (_ fd: Int32) -> Int32
    package var rename: @Sendable (_ from: String, _ to: String) -> Int32
    package var unlink: @Sendable (_ path: String) -> Int32
    package var rmdir: @Sendable (_ path: String) -> Int32
    package var mkdir: @Sendable (_ path: String, _ mode: mode_t) -> Int32
    package var flock: @Sendable (_ fd: Int32, _ operation: Int32) -> Int32
    package var link: @Sendable (_ from: String, _ to: String) -> Int32
    /// `stat(2)`, following symlinks.
    package var stat: @Sendable (_ path: String, _ into: UnsafeMutablePointer<FileStatus>) -> Int32
    /// `lstat(2)`: a symlink itself.
    package var lstat: @Sendable (_ path: String, _ into: UnsafeMutablePointer<FileStatus>) -> Int32
    package var fstat: @Sendable (_ fd: Int32, _ into: UnsafeMutablePointer<FileStatus>) -> Int32
    /// The names in a directory but `.` and `..`, unsorted, appended to `names`
    /// (`opendir`/`readdir`/`closedir`).
    package var listDirectory: @Sendable (_ path: String, _ names: inout [String]) -> Int32
    /// `realpath(3)`: the absolute path with symlinks resolved, stored in `resolved`.
    package var realpath: @Sendable (_ path: String, _ resolved: inout String) -> Int32

    package static let system = Syscalls(
        open: { path, flags, mode in check(Glibc.open(path, flags | O_CLOEXEC, mode)) },
        write: { fd, bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
            return check(Glibc.write(fd, base, bytes.count))
        },
        pread: { fd, into, offset in
            guard let base = into.baseAddress, into.count > 0 else { return 0 }
            return check(Glibc.pread(fd, base, into.count, off_t(offset)))
        },
        fdatasync: { fd in check(Glibc.fdatasync(fd)) },
        fsync: { fd in check(Glibc.fsync(fd)) },
        ftruncate: { fd, length in check(Glibc.ftruncate(fd, off_t(length))) },
        close: { fd in check(Glibc.close(fd)) },
        rename: { from, to in check(Glibc.rename(from, to)) },
        unlink: { path in check(Glibc.unlink(path)) },
        rmdir: { path in check(Glibc.rmdir(path)) },
        mkdir: { path, mode in check(Glibc.mkdir(path, mode)) },
        flock: { fd, operation in check(lockFile(fd, operation)) },
        link: { from, to in check(Glibc.link(from, to)) },
        stat: { path, into in check(statFollowing(path, into)) },
        lstat: { path, into in check(Glibc.lstat(path, into)) },
        fstat: { fd, into in check(Glibc.fstat(fd, into)) },
        listDirectory: { path, names in
            guard let dir = opendir(path) else { return -errno }
            defer { closedir(dir) }
            while true {
                errno = 0
                guard let entry = readdir(dir) else { return errno == 0 ? 0 : -errno }
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
        },
        realpath: { path, resolved in
            guard let p = Glibc.realpath(path, nil) else { return -errno }
            defer { free(p) }
            resolved = String(cString: p)
            return 0
        })

    @inline(__always)
    private static func check<T: BinaryInteger>(_ result: T) -> T {
        result < 0 ? T(-errno) : result
    }
}

/// An open file descriptor with its path, for error messages. One owner at a time, not
/// thread-safe; closes in `deinit` unless ``close()`` was called. Every call goes through
/// ``Syscalls``.
final class OpenFile {
    let fd: Int32
    let path: String
    let sys: Syscalls
    private var isClosed = false

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o666, sys: Syscalls) throws(TSDBError) -> OpenFile {
        let fd = sys.open(path, flags, mode)
        guard fd >= 0 else { throw .io("open", path: path, errno: -fd) }
        return OpenFile(fd: fd, path: path, sys: sys)
    }

    private init(fd: Int32, path: String, sys: Syscalls) {
        self.fd = fd
        self.path = path
        self.sys = sys
    }

    /// Writes all of `bytes`, retrying short writes and `EINTR`. On failure some prefix may
    /// have reached the file; the caller decides how to undo it.
    func writeAll(_ bytes: UnsafeRawBufferPointer) throws(TSDBError) {
        var done = 0
        while done < bytes.count {
            let n = sys.write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]))
            if n == -Int(EINTR) { continue }
            guard n > 0 else { throw .io("write", path: path, errno: n == 0 ? EIO : Int32(-n)) }
            done += n
        }
    }

    func writeAll(_ bytes: [UInt8]) throws(TSDBError) {
        var failure: TSDBError?
        bytes.withUnsafeBytes { raw in
            do throws(TSDBError) { try writeAll(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads the whole file from offset 0, into an array sized once from `fstat`.
    func readAll() throws(TSDBError) -> [UInt8] {
        var st = FileStatus()
        let r = sys.fstat(fd, &st)
        guard r == 0 else { throw .io("stat", path: path, errno: -r) }
        let size = Int(st.st_size)
        var failure: TSDBError?
        var out = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var done = 0
            while done < size {
                let n = sys.pread(fd, UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[done...]), Int64(done))
                if n == -Int(EINTR) { continue }
                if n < 0 { failure = .io("read", path: path, errno: Int32(-n)); break }
                if n == 0 { break }  // the file shrank while we read
                done += n
            }
            count = done
        }
        if let failure { throw failure }
        // The file may have grown since fstat: read on to its end.
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { sys.pread(fd, $0, Int64(out.count)) }
            if n == -Int(EINTR) { continue }
            guard n >= 0 else { throw .io("read", path: path, errno: Int32(-n)) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// `fdatasync`: the file's bytes and size are durable when this returns.
    func sync() throws(TSDBError) {
        let r = sys.fdatasync(fd)
        guard r == 0 else { throw .io("fdatasync", path: path, errno: -r) }
    }

    /// `fsync`: data and metadata, for a directory's entries.
    func syncAll() throws(TSDBError) {
        let r = sys.fsync(fd)
        guard r == 0 else { throw .io("fsync", path: path, errno: -r) }
    }

    func truncate(to length: Int64) throws(TSDBError) {
        let r = sys.ftruncate(fd, length)
        guard r == 0 else { throw .io("truncate to \(length) bytes", path: path, errno: -r) }
    }

    func close() throws(TSDBError) {
        guard !isClosed else { return }
        isClosed = true
        let r = sys.close(fd)
        guard r == 0 else { throw .io("close", path: path, errno: -r) }
    }

    deinit { if !isClosed { _ = sys.close(fd) } }
}

extension FileSystem {
    /// fsyncs a directory, so that entries created, renamed or removed in it are durable.
    package static func syncDirectory(_ path: String, sys: Syscalls) throws(TSDBError) {
        let dir = try OpenFile.open(path, flags: O_RDONLY | O_DIRECTORY, sys: sys)
        try dir.syncAll()
        try dir.close()
    }

    /// Crash-safe replacement: writes `bytes` to `path.tmp`, fsyncs it, renames it over
    /// `path` and fsyncs the directory.
    package static func replaceFile(_ path: String, with bytes: [UInt8], sys: Syscalls) throws(TSDBError) {
        let tmp = path + ".tmp"
        let file = try OpenFile.open(tmp, flags: O_WRONLY | O_CREAT | O_TRUNC, sys: sys)
        try file.writeAll(bytes)
        try file.sync()
        try file.close()
        let r = sys.rename(tmp, path)
        guard r == 0 else { throw .io("rename \(tmp) to", path: path, errno: -r) }
        try syncDirectory(parentDirectory(of: path), sys: sys)
    }

    /// Cuts the file at `path` to `offset` bytes and fsyncs it (repairing a torn tail).
    static func truncateFile(_ path: String, to offset: Int, sys: Syscalls) throws(TSDBError) {
        let file = try OpenFile.open(path, flags: O_WRONLY, sys: sys)
        try file.truncate(to: Int64(offset))
        try file.sync()
        try file.close()
    }

    /// Names in `path`, unsorted; nil when the directory does not exist.
    package static func list(_ path: String, sys: Syscalls) throws(TSDBError) -> [String]? {
        var names: [String] = []
        let r = sys.listDirectory(path, &names)
        if r == -ENOENT { return nil }
        guard r == 0 else { throw .io("list", path: path, errno: -r) }
        return names
    }

    /// `stat` of `path` (following symlinks), or nil if it cannot be read (missing).
    static func status(_ path: String, sys: Syscalls) -> FileStatus? {
        var st = FileStatus()
        return sys.stat(path, &st) == 0 ? st : nil
    }

    /// Size of the file at `path`, or nil if it does not exist.
    package static func size(_ path: String, sys: Syscalls) -> Int64? {
        status(path, sys: sys).map { Int64($0.st_size) }
    }

    /// Whether `path` exists and is a directory (following symlinks).
    package static func isDirectory(_ path: String, sys: Syscalls) -> Bool {
        status(path, sys: sys).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false
    }

    /// `rm -r`, through ``Syscalls`` so removal failures can be injected too.
    package static func removeAll(_ path: String, sys: Syscalls) throws(TSDBError) {
        var st = FileStatus()
        guard sys.lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in try list(path, sys: sys) ?? [] { try removeAll(path + "/" + name, sys: sys) }
            let r = sys.rmdir(path)
            guard r == 0 || r == -ENOENT else { throw .io("remove directory", path: path, errno: -r) }
        } else {
            let r = sys.unlink(path)
            guard r == 0 || r == -ENOENT else { throw .io("remove", path: path, errno: -r) }
        }
    }
}

/// `stat(2)`; at file scope, where `stat` names the function as well as the struct.
private func statFollowing(_ path: String, _ into: UnsafeMutablePointer<FileStatus>) -> Int32 { stat(path, into) }

/// `flock(2)`. Glibc's module imports the function under the name of `struct flock`, which
/// shadows it; two `Int32`s in and one out pass the same way in Swift's and C's conventions.
@_silgen_name("flock")
private func lockFile(_ fd: Int32, _ operation: Int32) -> Int32

extension TSDBError {
    package static func io(_ operation: String, path: String, errno code: Int32) -> TSDBError {
        TSDBError(.io, "\(operation) \(path): \(Errno(code))", location: Location(file: path), cause: Errno(code))
    }
}
