import Foundation
import Synchronization
@_spi(Chunks) import TSDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``Syscalls`` layer that records every call that changes the file system as a
/// ``Site`` (the workload phase, the operation and the path with its numbers and ULIDs
/// replaced by placeholders), and can fail the `n`-th call at one site with one ``Fault``.
/// The fault matrix runs a workload once to learn the sites, then once per site × fault.
///
/// Thread-safe. Calls made on a thread other than the one that last set ``phase`` (the
/// WAL's background fsyncs) are recorded under the phase ``backgroundPhase``.
package final class FaultySyscalls: Sendable {
    /// The operations that write: the ones a fault is injected into.
    package enum Operation: String, Sendable, Comparable, CaseIterable {
        case create = "open(O_CREAT)", write, fdatasync, fsync, ftruncate, rename, unlink, rmdir, mkdir, link

        package static func < (a: Operation, b: Operation) -> Bool { a.rawValue < b.rawValue }
    }

    package enum Fault: String, Sendable, CaseIterable, CustomStringConvertible {
        case noSpace = "ENOSPC"
        case ioError = "EIO"
        /// Half the bytes are written; the next write of that descriptor returns ENOSPC.
        case shortWrite = "short write"
        case failedSync = "failed fsync"
        case failedRename = "failed rename"
        /// EIO from an unlink or rmdir, a truncation or a hard link.
        case failedOther = "EIO (unlink, rmdir, truncate, link)"

        package var description: String { rawValue }

        /// The faults that apply to `operation`.
        package static func applicable(to operation: Operation) -> [Fault] {
            switch operation {
            case .write: [.noSpace, .ioError, .shortWrite]
            case .create, .mkdir: [.noSpace]
            case .fdatasync, .fsync: [.failedSync]
            case .rename: [.failedRename]
            case .unlink, .rmdir, .ftruncate, .link: [.failedOther]
            }
        }
    }

    /// Where a call happened.
    package struct Site: Hashable, Sendable, Comparable, CustomStringConvertible {
        package var phase: String
        package var operation: Operation
        /// The path relative to its root, `NNNNNNNN` → `N`, a ULID → `<ulid>`; for a rename
        /// `from → to`.
        package var path: String

        package init(phase: String, operation: Operation, path: String) {
            self.phase = phase
            self.operation = operation
            self.path = path
        }

        package var description: String { "\(phase): \(operation.rawValue) \(path)" }
        package static func < (a: Site, b: Site) -> Bool { a.description < b.description }
    }

    package static let backgroundPhase = "background"

    private struct Plan {
        var site: Site
        var fault: Fault
        var nth: Int
    }

    private struct State {
        var roots: [(path: String, label: String)] = []
        var phase = "setup"
        var driver: pthread_t?
        var paths: [Int32: String] = [:]
        var counts: [Site: Int] = [:]
        var plan: Plan?
        var fired: (site: Site, fault: Fault)?
        /// Descriptors whose next write fails after a short write.
        var shortWritten: Set<Int32> = []
    }

    private let state = Mutex(State())
    private let base: Syscalls

    package init(base: Syscalls = .system) { self.base = base }

    /// Directories whose paths sites are named relative to, with a label prefix each
    /// (`""` for the data directory, `"snapshot:"` for a snapshot target, say). Clears
    /// the counts and any plan.
    package func reset(roots: [(path: String, label: String)]) {
        state.withLock {
            $0 = State()
            $0.roots = roots
        }
    }

    /// The phase calls are recorded under from now on; the calling thread becomes the one
    /// whose calls count as foreground.
    package var phase: String {
        get { state.withLock { $0.phase } }
        set {
            state.withLock {
                $0.phase = newValue
                $0.driver = pthread_self()
            }
        }
    }

    /// How many calls each site has seen since ``reset(roots:)``.
    package var counts: [Site: Int] { state.withLock { $0.counts } }

    /// Fails the `nth` call (1-based) at `site` with `fault`, once.
    package func arm(_ site: Site, _ fault: Fault, nth: Int) {
        state.withLock { $0.plan = Plan(site: site, fault: fault, nth: nth) }
    }

    /// Clears the plan (the fault "clears"); a short write's pending ENOSPC is dropped too.
    package func disarm() {
        state.withLock {
            $0.plan = nil
            $0.shortWritten = []
        }
    }

    /// The site and fault injected, once it has been.
    package var fired: (site: Site, fault: Fault)? { state.withLock { $0.fired } }

    /// Records a call and says whether to fail it.
    private func note(_ operation: Operation, _ path: String) -> Fault? {
        state.withLock { s -> Fault? in
            let phase = s.driver.map { pthread_equal($0, pthread_self()) != 0 } ?? true ? s.phase : Self.backgroundPhase
            let site = Site(phase: phase, operation: operation, path: Self.template(path, roots: s.roots))
            let n = (s.counts[site] ?? 0) + 1
            s.counts[site] = n
            guard let plan = s.plan, plan.site == site, plan.nth == n else { return nil }
            s.plan = nil
            s.fired = (site, plan.fault)
            return plan.fault
        }
    }

    private func path(of fd: Int32) -> String { state.withLock { $0.paths[fd] ?? "fd:\(fd)" } }

    private static func errno(for fault: Fault) -> Int32 { fault == .noSpace ? ENOSPC : EIO }

    package var syscalls: Syscalls {
        var sys = base
        let base = self.base
        sys.open = { [self] path, flags, mode in
            if flags & O_CREAT != 0, let fault = note(.create, path) { return -Self.errno(for: fault) }
            let fd = base.open(path, flags, mode)
            if fd >= 0 { state.withLock { $0.paths[fd] = path } }
            return fd
        }
        sys.close = { [self] fd in
            state.withLock {
                $0.paths[fd] = nil
                $0.shortWritten.remove(fd)
            }
            return base.close(fd)
        }
        sys.write = { [self] fd, bytes in
            if state.withLock({ $0.shortWritten.remove(fd) != nil }) { return -Int(ENOSPC) }
            switch note(.write, path(of: fd)) {
            case nil: return base.write(fd, bytes)
            case .shortWrite?:
                state.withLock { _ = $0.shortWritten.insert(fd) }
                return base.write(fd, UnsafeRawBufferPointer(rebasing: bytes[0..<max(1, bytes.count / 2)]))
            case let fault?: return -Int(Self.errno(for: fault))
            }
        }
        sys.fdatasync = { [self] fd in note(.fdatasync, path(of: fd)) != nil ? -EIO : base.fdatasync(fd) }
        sys.fsync = { [self] fd in note(.fsync, path(of: fd)) != nil ? -EIO : base.fsync(fd) }
        sys.ftruncate = { [self] fd, length in note(.ftruncate, path(of: fd)) != nil ? -EIO : base.ftruncate(fd, length) }
        sys.rename = { [self] from, to in
            let key = Self.template(from, roots: state.withLock { $0.roots }) + " → " + Self.template(to, roots: state.withLock { $0.roots })
            return note(.rename, "\u{0}" + key) != nil ? -EIO : base.rename(from, to)
        }
        sys.unlink = { [self] path in note(.unlink, path) != nil ? -EIO : base.unlink(path) }
        sys.rmdir = { [self] path in note(.rmdir, path) != nil ? -EIO : base.rmdir(path) }
        sys.mkdir = { [self] path, mode in note(.mkdir, path) != nil ? -ENOSPC : base.mkdir(path, mode) }
        sys.link = { [self] from, to in note(.link, to) != nil ? -EIO : base.link(from, to) }
        return sys
    }

    /// `path` relative to the first root it is under, its label in front, with every
    /// all-digit component written `N` and every ULID `<ulid>`. A path that starts with
    /// NUL is taken as already templated.
    package static func template(_ path: String, roots: [(path: String, label: String)]) -> String {
        if path.hasPrefix("\u{0}") { return String(path.dropFirst()) }
        var relative = path
        var label = "/"
        for root in roots {
            if path == root.path { relative = ""; label = root.label; break }
            if path.hasPrefix(root.path + "/") {
                relative = String(path.dropFirst(root.path.count + 1))
                label = root.label
                break
            }
        }
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true).map { part -> String in
            var s = String(part)
            var suffix = ""
            for known in [".tmp-for-creation", ".tmp-for-deletion", ".tmp"] where s.hasSuffix(known) {
                suffix = known
                s = String(s.dropLast(known.count))
                break
            }
            if s.count == 26, ULID(s) != nil { s = "<ulid>" }
            else if !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { s = "N" }
            else if s.hasPrefix("checkpoint."), s.dropFirst(11).utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { s = "checkpoint.N" }
            else if s.hasPrefix("import-"), ULID(String(s.dropFirst(7))) != nil { s = "import-<ulid>" }
            return s + suffix
        }
        return label + (parts.isEmpty ? "." : parts.joined(separator: "/"))
    }
}
