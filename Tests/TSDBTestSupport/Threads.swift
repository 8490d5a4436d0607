import Dispatch
import Foundation

/// Runs `body(0..<n)` on `n` real threads at once and waits for all of them. Unlike
/// `concurrentPerform`, which runs only as many at a time as there are cores, every
/// body is live together, so writers and readers truly overlap even on 2 cores.
public func runThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<n {
        group.enter()
        let thread = Thread {
            body(i)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}
