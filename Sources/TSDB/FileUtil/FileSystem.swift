#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The engine's only door to the file system. Every syscall goes through here, so tests can
/// inject failures (ENOSPC, EIO) in one place as the WAL and blocks arrive.
enum FileSystem {
    /// `mkdir -p`: creates `path` and missing parents; an existing directory is fine.
    static func createDirectory(_ path: String) throws(TSDBError) {
        guard !path.isEmpty else { throw TSDBError(.invalidArgument, "empty directory path") }
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw TSDBError(.invalidArgument, "\(path) exists and is not a directory")
            }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path && !parent.isEmpty { try createDirectory(parent) }
        if mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw TSDBError(.io, "cannot create directory \(path)", cause: Errno(errno))
        }
    }

    /// Whether `path` exists and is a directory (following symlinks).
    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }
}

/// An errno value as an error cause.
public struct Errno: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    public var description: String { "\(String(cString: strerror(code))) (errno \(code))" }
}
