#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The calls that map a file, replaceable like ``Syscalls`` so tests can inject `ENOMEM`.
/// Failures are reported as `-errno` or an ``Errno``. The file's size comes from
/// ``Syscalls/fstat``.
package struct MappingCalls: Sendable {
    /// Maps `length > 0` bytes of `fd` from offset 0, read-only and shared.
    var map: @Sendable (_ fd: Int32, _ length: Int) -> Result<UnsafeRawPointer, Errno>
    /// Unmaps what ``map`` returned; 0 or `-errno`.
    var unmap: @Sendable (_ address: UnsafeRawPointer, _ length: Int) -> Int32

    package static let system = MappingCalls.system(flags: MAP_SHARED)

    /// As ``system``, with the whole file's pages mapped in by `mmap` itself
    /// (`MAP_POPULATE`): for a file about to be read through once, which then takes no page
    /// faults.
    static let populated = MappingCalls.system(flags: MAP_SHARED | MAP_POPULATE)

    private static func system(flags: Int32) -> MappingCalls {
        MappingCalls(
            map: { fd, length in
                let p = mmap(nil, length, PROT_READ, flags, fd, 0)
                guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else { return .failure(Errno(errno)) }
                return .success(UnsafeRawPointer(p))
            },
            unmap: { address, length in
                munmap(UnsafeMutableRawPointer(mutating: address), length) == 0 ? 0 : -errno
            })
    }
}

/// Drops the whole pages of `range` from this process's view of a shared file mapping
/// (`MADV_DONTNEED`), so they no longer count in its resident memory. The file's pages stay
/// in the page cache, and a later read faults them back in with the same bytes. Only for
/// bytes of a ``MappedFile`` (on private or anonymous memory it would zero them).
func releaseMappedPages(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
    guard let base = bytes.baseAddress else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = (range.lowerBound + page - 1) / page * page
    let end = Swift.min(range.upperBound, bytes.count) / page * page
    guard end > start else { return }
    _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
}

/// A whole file mapped read-only into memory, as Prometheus's `fileutil.OpenMmapFile`.
///
/// The mapping is owned by this object alone and is unmapped exactly once, in `deinit`; the
/// descriptor is closed as soon as the file is mapped. Safe to share between threads: the
/// bytes are read-only. An empty file has no mapping and reads as zero bytes.
///
/// Bytes are only reachable inside ``withUnsafeBytes(_:)``, which keeps the mapping alive for
/// the duration of the call. Truncating the file on disk while it is mapped makes a later
/// read past the new end raise `SIGBUS`, as in Prometheus; the engine never truncates files
/// that are open for reading.
package final class MappedFile: @unchecked Sendable {
    // @unchecked: every stored property is a `let`, and the memory behind `base` is mapped
    // with PROT_READ, so nothing can change it through this object.
    let path: String
    /// Size of the file when it was mapped.
    let count: Int
    private let base: UnsafeRawPointer?
    private let mapping: MappingCalls

    private init(path: String, count: Int, base: UnsafeRawPointer?, mapping: MappingCalls) {
        self.path = path
        self.count = count
        self.base = base
        self.mapping = mapping
    }

    /// Opens and maps `path`. Costs one `open`, `fstat`, `mmap` and `close`; pages are read
    /// lazily by the kernel on first touch.
    package static func open(_ path: String, sys: Syscalls, mapping: MappingCalls = .system) throws(TSDBError) -> MappedFile {
        let file = try OpenFile.open(path, flags: O_RDONLY, sys: sys)
        var st = FileStatus()
        let r = sys.fstat(file.fd, &st)
        guard r == 0 else { throw .io("stat", path: path, errno: -r) }
        let size = Int64(st.st_size)
        guard size <= Int64(Int.max) else {
            throw TSDBError(.unsupported, "\(path) is too large to map (\(size) bytes)", location: .init(file: path))
        }
        var base: UnsafeRawPointer?
        if size > 0 {
            switch mapping.map(file.fd, Int(size)) {
            case .success(let p): base = p
            case .failure(let e): throw .io("mmap", path: path, errno: e.code)
            }
        }
        do {
            try file.close()
        } catch {
            if let base { _ = mapping.unmap(base, Int(size)) }
            throw error
        }
        return MappedFile(path: path, count: Int(size), base: base, mapping: mapping)
    }

    /// Calls `body` with the file's bytes. The pointer must not escape `body`.
    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : count))
    }

    deinit {
        if let base { _ = mapping.unmap(base, count) }
    }
}
