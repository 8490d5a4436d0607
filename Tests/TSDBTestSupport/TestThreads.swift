import Foundation
import Testing

/// Threads of the tests' own, as a task executor.
///
/// Swift's cooperative pool has one thread per core: two here. A test that computes for a
/// minute, or waits on a child process, holds one of them all along, and two such tests
/// leave nothing for the tests that serve HTTP in process or send over the network; those
/// then time out. Suites marked ``Trait/heavy`` run on two threads of their own, and
/// suites marked ``Trait/blocking`` on as many as they need, so the cooperative pool
/// stays free for the work that has to answer in time.
public final class TestThreads: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var idle = 0
    private var threads = 0
    private let maxThreads: Int
    private let name: String

    /// At most `maxThreads` threads, started as jobs arrive and kept for the process's life.
    public init(name: String, maxThreads: Int = .max) {
        self.name = name
        self.maxThreads = max(1, maxThreads)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        let spawn = jobs.count - head > idle && threads < maxThreads
        if spawn { threads += 1 } else { condition.signal() }
        let number = threads
        condition.unlock()
        if spawn {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(number)"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    private func work() {
        condition.lock()
        while true {
            if head < jobs.count {
                let job = jobs[head]
                head += 1
                if head > 1024, head * 2 > jobs.count {
                    jobs.removeFirst(head)
                    head = 0
                }
                condition.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
                condition.lock()
                continue
            }
            idle += 1
            condition.wait()
            idle -= 1
        }
    }

    /// Two threads, shared by every ``Trait/heavy`` suite.
    public static let heavy = TestThreads(name: "test-heavy", maxThreads: 2)
    /// As many threads as the ``Trait/blocking`` suites keep busy.
    public static let blocking = TestThreads(name: "test-blocking")
}

/// Runs each test of a suite with a ``TestThreads`` pool as its task executor preference.
public struct TestThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    let threads: TestThreads

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(threads) { try await function() }
    }
}

extension Trait where Self == TestThreadsTrait {
    /// For suites that compute or wait on child processes: two threads of their own, off
    /// the cooperative pool.
    public static var heavy: Self { TestThreadsTrait(threads: .heavy) }
    /// For suites that block while their servers (in process, on the cooperative pool)
    /// must answer: threads of their own, as many as they need.
    public static var blocking: Self { TestThreadsTrait(threads: .blocking) }
}

/// Runs `body` on a thread of its own and waits for it without holding a thread of the
/// cooperative pool.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        let thread = Thread { c.resume(with: Result { try body() }) }
        thread.stackSize = 16 << 20
        thread.start()
    }
}
