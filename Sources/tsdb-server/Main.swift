import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import CMalloc
#endif

/// The entry point. Before any task exists, NIO's event loops become Swift Concurrency's
/// global executor: a request is then read, answered and written on one thread, without
/// the hops between the event loop and the cooperative pool (each a futex wake-up). Work
/// that takes long (queries, label scans) still leaves for threads of its own
/// (`runBlocking`).
@main
enum TSDBServerMain {
    static func main() {
        keepFreedMemory()
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await TSDBServerCommand.main()
            exit(0)
        }
        dispatchMain()
    }

    /// glibc hands each answer of a few MB (a raw selection's JSON) to a fresh mmap and
    /// returns freed memory to the kernel at once, so every large answer paid page faults
    /// and zeroed pages: a quarter of a 4 MB answer's time. Allocations up to 32 MB now come
    /// from the heap, and up to 256 MB freed stays there for the next request (Go's heap
    /// keeps its memory too). `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` set in the
    /// environment still win.
    static func keepFreedMemory() {
        #if canImport(Glibc)
        let env = ProcessInfo.processInfo.environment
        if env["MALLOC_MMAP_THRESHOLD_"] == nil { _ = mallopt(M_MMAP_THRESHOLD, 32 << 20) }
        if env["MALLOC_TRIM_THRESHOLD_"] == nil { _ = mallopt(M_TRIM_THRESHOLD, 256 << 20) }
        #endif
    }
}
