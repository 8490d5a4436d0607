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

/// One read(2) of what a pipe holds (retrying EINTR); nil at end of file or, on a
/// non-blocking descriptor, when nothing is left. For tests that read a child's output.
public func readAvailable(_ fd: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { return Array(buffer[..<n]) }
        if n < 0 && errno == EINTR { continue }
        return nil
    }
}
