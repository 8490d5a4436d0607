import Foundation
import NIOCore
import NIOPosix

/// The entry point. Before any task exists, NIO's event loops become Swift Concurrency's
/// global executor: a request is then read, answered and written on one thread, without
/// the hops between the event loop and the cooperative pool (each a futex wake-up). Work
/// that takes long (queries, label scans) still leaves for threads of its own
/// (`runBlocking`).
@main
enum TSDBServerMain {
    static func main() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await TSDBServerCommand.main()
            exit(0)
        }
        dispatchMain()
    }
}
