#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes used on disk by files, as size retention and the self-metrics count them.
enum DiskUsage {
    /// The sum of the sizes of the regular files under `path` (the file itself if it is
    /// one), following no symlinks; 0 when it does not exist. Sizes are apparent sizes
    /// (`st_size`), as Prometheus counts them.
    static func bytes(under path: String, sys: Syscalls) -> Int64 {
        var st = FileStatus()
        guard sys.lstat(path, &st) == 0 else { return 0 }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return Int64(st.st_size)
        case S_IFDIR:
            var total: Int64 = 0
            for name in ((try? FileSystem.list(path, sys: sys)) ?? nil) ?? [] { total += bytes(under: path + "/" + name, sys: sys) }
            return total
        default: return 0
        }
    }
}
