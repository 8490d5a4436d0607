#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system helpers over ``Syscalls``, the engine's only door to the file system, so
/// tests can inject failures (ENOSPC, EIO) in one place as the WAL and blocks arrive.
package enum FileSystem {
    /// `mkdir -p`: creates `path` and missing parents; an existing directory is fine. Each
    /// directory it creates is made durable: its parent is fsynced after the `mkdir`.
    package static func createDirectory(_ path: String, sys: Syscalls) throws(TSDBError) {
        guard !path.isEmpty else { throw TSDBError(.invalidArgument, "empty directory path") }
        if let st = status(path, sys: sys) {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw TSDBError(.invalidArgument, "\(path) exists and is not a directory")
            }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path && !parent.isEmpty { try createDirectory(parent, sys: sys) }
        let r = sys.mkdir(path, 0o777)
        if r == -EEXIST { return }
        guard r == 0 else { throw .io("create directory", path: path, errno: -r) }
        try syncDirectory(parent.isEmpty ? "." : parent, sys: sys)
    }

    package static func parentDirectory(of path: String) -> String {
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
