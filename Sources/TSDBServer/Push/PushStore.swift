import Foundation
import Logging
import PromQL
import Synchronization
import TSDB

/// One group of the push API: its grouping key, its families (the two timestamp gauges
/// aside) and the Unix times (seconds) of its last successful and failed change.
struct PushGroup: Sendable {
    var grouping: GroupingPath
    var families: [String: PushedFamily]
    var pushTime: Double
    var failureTime: Double
}

/// The push API's groups: Pushgateway 1.5.1's metric store over the engine. Every change
/// appends the group's samples to the `DB` at once (staleness markers for series that
/// went), ``reappend(now:)`` appends them again, and the groups are kept in
/// `<data dir>/push/groups` (FORMAT.md, "Push groups"), replaced crash-safely on every change.
///
/// Thread-safe; each operation holds one lock while it changes the groups, appends and writes
/// the file, so pushes are applied one at a time, as the Pushgateway's write queue does.
public final class PushStore: MetricsSource, Sendable {
    let db: DB
    let file: String
    let logger: Logger
    private let groups: Mutex<[String: PushGroup]>

    /// Opens the store of `db`'s directory, reading the groups a previous run kept.
    /// - Throws: ``TSDBError/Code/corruption`` naming the file and offset when it cannot be read.
    public init(db: DB, logger: Logger) throws(TSDBError) {
        self.db = db
        self.logger = logger
        let directory = db.directory + "/push"
        file = directory + "/groups"
        var loaded: [String: PushGroup] = [:]
        if let bytes = try Self.readFile(file, sys: db.options.syscalls) {
            for g in try PushGroupsFile.decode(bytes, file: file) { loaded[g.grouping.key] = g }
        }
        groups = Mutex(loaded)
    }

    /// PUT (`replace`) or POST of `body` to the group `path`: nil when accepted, else the
    /// Pushgateway's status and message. A refused push stores none of its samples but sets
    /// the group's `push_failure_time_seconds` (creating the group) unless the text did not parse.
    func push(_ path: GroupingPath, body: UnsafeRawBufferPointer, replace: Bool, now: Double) -> PushError? {
        let parsed: ParsedPush
        switch PushText.parse(body) {
        case .success(let p): parsed = p
        case .failure(let e): return e
        }
        return groups.withLock { groups -> PushError? in
            let key = path.key
            let old = groups[key]
            var families = parsed.families
            PushText.applyGrouping(path, to: &families)
            var problem: String?
            if parsed.hasTimestamps {
                problem = "pushed metrics must not have timestamps"
            } else {
                var candidate = old ?? PushGroup(grouping: path, families: [:], pushTime: 0, failureTime: 0)
                if replace { candidate.families = [:] }
                for (name, f) in families { candidate.families[name] = f }
                candidate.pushTime = now
                var all = groups
                all[key] = candidate
                if let message = PushExposition.check([], groups: all.values.sorted { $0.grouping.key < $1.grouping.key }) {
                    problem = message
                } else {
                    groups[key] = candidate
                    commit(old: old, new: candidate, groups: groups)
                    return nil
                }
            }
            var failed = old ?? PushGroup(grouping: path, families: [:], pushTime: 0, failureTime: 0)
            failed.failureTime = now
            groups[key] = failed
            commit(old: old, new: failed, groups: groups)
            return PushError(status: 400, message: "pushed metrics are invalid or inconsistent with existing metrics: \(problem ?? "")")
        }
    }

    /// DELETE of the group `path` (nothing to do when it does not exist).
    func delete(_ path: GroupingPath, now: Double) {
        groups.withLock { groups in
            guard let old = groups.removeValue(forKey: path.key) else { return }
            commit(old: old, new: nil, groups: groups)
        }
    }

    /// Appends every group's current samples at `now` (what a scrape every interval stores).
    public func reappend(now: Date = Date()) {
        let t = Self.milliseconds(now)
        groups.withLock { groups in
            append(groups.values.flatMap { PushExposition.series(of: $0) }, stale: [], at: t)
        }
    }

    /// The groups in the text format, as the Pushgateway's `/metrics` shows them.
    public func exposition() async -> String {
        let all = groups.withLock { Array($0.values) }
        return PushExposition.text(PushExposition.merged(all.sorted { $0.grouping.key < $1.grouping.key }))
    }

    /// Appends the new group's samples and stale markers for the series the old one had
    /// and the new one lacks, then writes the file. Called with the lock held.
    private func commit(old: PushGroup?, new: PushGroup?, groups: [String: PushGroup]) {
        let t = Self.milliseconds(Date())
        let current = new.map { PushExposition.series(of: $0) } ?? []
        let kept = Set(current.map(\.0))
        let gone = (old.map { PushExposition.series(of: $0) } ?? []).map(\.0).filter { !kept.contains($0) }
        append(current, stale: gone, at: t)
        do {
            try FileSystem.createDirectory(db.directory + "/push", sys: db.options.syscalls)
            let bytes = PushGroupsFile.encode(groups.values.sorted { $0.grouping.key < $1.grouping.key })
            try FileSystem.replaceFile(file, with: bytes, sys: db.options.syscalls)
        } catch {
            logger.error("writing the push groups failed", metadata: ["file": "\(file)", "err": "\(error)"])
        }
    }

    private func append(_ samples: [(Labels, Double)], stale: [Labels], at t: Int64) {
        guard !samples.isEmpty || !stale.isEmpty else { return }
        do {
            var app = try db.appender()
            for (labels, value) in samples { _ = try? app.append(labels, timestamp: t, value: value) }
            for labels in stale { _ = try? app.append(labels, timestamp: t, value: Double(bitPattern: staleNaNBits)) }
            try app.commit()
        } catch {
            logger.error("appending pushed samples failed", metadata: ["err": "\(error)"])
        }
    }

    static func milliseconds(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The whole file, or nil when it does not exist.
    static func readFile(_ path: String, sys: Syscalls) throws(TSDBError) -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TSDBError(.io, "cannot read the push groups file", location: .init(file: path))
        }
        return [UInt8](data)
    }
}
