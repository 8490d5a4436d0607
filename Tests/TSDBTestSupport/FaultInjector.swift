import Synchronization
import TSDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Faults to inject through ``Syscalls``: the `n`-th write from now fails or is cut short,
/// fsyncs (of files and directories) fail or are slow, truncation fails. Counts writes and
/// the fdatasyncs of files. Thread-safe.
public final class FaultInjector: Sendable {
    public enum WriteFault: Sendable {
        /// Return -ENOSPC without writing.
        case noSpace
        /// Write the first half of the bytes only.
        case half
    }

    private struct State {
        var writes = 0
        var fsyncs = 0
        var plan: [Int: WriteFault] = [:]
        var failingFsyncs = 0
        var fsyncErrno: Int32 = EIO
        var fsyncDelayMicroseconds: UInt32 = 0
        var failTruncate = false
    }

    private let state = Mutex(State())

    public init() {}

    public var writes: Int { state.withLock { $0.writes } }
    public var fsyncs: Int { state.withLock { $0.fsyncs } }

    /// The `n`-th write call from now (1 = the next one) meets `fault`.
    public func failWrite(_ n: Int, _ fault: WriteFault) {
        state.withLock { $0.plan[$0.writes + n] = fault }
    }

    /// A short write: the next write call writes half its bytes, the one after returns ENOSPC.
    public func shortWriteThenNoSpace() {
        failWrite(1, .half)
        failWrite(2, .noSpace)
    }

    public func failFsyncs(_ count: Int, errno: Int32 = EIO) {
        state.withLock {
            $0.failingFsyncs = count
            $0.fsyncErrno = errno
        }
    }

    public func slowFsyncs(microseconds: UInt32) { state.withLock { $0.fsyncDelayMicroseconds = microseconds } }
    public func failTruncate(_ fail: Bool) { state.withLock { $0.failTruncate = fail } }

    package var syscalls: Syscalls {
        var sys = Syscalls.system
        sys.write = { [self] fd, bytes in
            let fault = state.withLock { s -> WriteFault? in
                s.writes += 1
                return s.plan.removeValue(forKey: s.writes)
            }
            switch fault {
            case .noSpace: return -Int(ENOSPC)
            case .half: return Syscalls.system.write(fd, UnsafeRawBufferPointer(rebasing: bytes[0..<max(1, bytes.count / 2)]))
            case nil: return Syscalls.system.write(fd, bytes)
            }
        }
        sys.fdatasync = { [self] fd in
            let (fail, code, delay) = state.withLock { s -> (Bool, Int32, UInt32) in
                s.fsyncs += 1
                let fail = s.failingFsyncs > 0
                if fail { s.failingFsyncs -= 1 }
                return (fail, s.fsyncErrno, s.fsyncDelayMicroseconds)
            }
            if delay > 0 { usleep(delay) }
            return fail ? -code : Syscalls.system.fdatasync(fd)
        }
        // Directories: failed like files, but not counted (``fsyncs`` counts segments).
        sys.fsync = { [self] fd in
            let (fail, code) = state.withLock { s -> (Bool, Int32) in
                let fail = s.failingFsyncs > 0
                if fail { s.failingFsyncs -= 1 }
                return (fail, s.fsyncErrno)
            }
            return fail ? -code : Syscalls.system.fsync(fd)
        }
        sys.ftruncate = { [self] fd, length in
            state.withLock { $0.failTruncate } ? -EIO : Syscalls.system.ftruncate(fd, length)
        }
        return sys
    }
}
