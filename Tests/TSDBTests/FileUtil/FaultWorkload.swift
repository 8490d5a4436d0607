import CoreMetrics
import Foundation
import Logging
import Synchronization
import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

/// The synthetic workload the fault matrix runs: small options so that within a few hundred
/// commits the WAL cuts segments and checkpoints, the head is cut into blocks and its chunks
/// go to `chunks_head/`, blocks are merged, deleted from, rewritten, snapshotted and dropped
/// by retention, and the database is closed and reopened.
enum FaultWorkload {
    static let seriesCount = 30
    static let blockRange: Int64 = 60_000

    enum Step: Sendable, CustomStringConvertible {
        case open(String)
        case close
        case commit(Int)
        /// A commit after the fault, just after every timestamp committed before.
        case commitNext(Int)
        case compact(String)
        case delete(series: Int, ClosedRange<Int64>)
        case cleanTombstones
        case snapshot

        /// The phase sites are recorded under.
        var phase: String {
            switch self {
            case .open(let what): "open (\(what))"
            case .close: "close"
            case .commit: "commit"
            case .commitNext: "commit after the fault"
            case .compact(let what): "compact (\(what))"
            case .delete: "delete"
            case .cleanTombstones: "clean tombstones"
            case .snapshot: "snapshot"
            }
        }

        var description: String {
            if case .commit(let k) = self { return "commit \(k)" }
            return phase
        }
    }

    /// Commit `k`'s timestamp: one a second, then a jump of 100 s so retention drops the
    /// oldest block.
    static func timestamp(_ k: Int) -> Int64 { Int64(k <= 300 ? k - 1 : k + 149) * 1000 }

    static let steps: [Step] = {
        var steps: [Step] = [.open("new")]
        for k in 1...330 {
            steps.append(.commit(k))
            switch k {
            case 100, 160, 220: steps.append(.compact("head cut"))
            case 150: steps += [.close, .open("existing")]
            case 200: steps.append(.delete(series: 4, 170_000...180_000))  // in the head
            case 280: steps.append(.compact("head cut, merge"))
            case 285: steps.append(.delete(series: 3, 65_000...90_000))  // in the merged block
            case 290: steps.append(.cleanTombstones)
            case 295: steps.append(.snapshot)
            case 330: steps.append(.compact("head cut, retention"))
            default: break
            }
        }
        steps.append(.close)
        return steps
    }()

    static func options(_ sys: Syscalls) -> Options {
        var o = Options()
        o.blockRange = blockRange
        o.samplesPerChunk = 20
        o.compactionEnabled = false
        o.walSegmentSize = 32 * 1024
        o.maxBlockDuration = 3 * 3 * blockRange
        o.retentionDuration = retention
        o.syscalls = sys
        o.logger = Logger(label: "fault-matrix", factory: { _ in SwiftLogNoOpLogHandler() })
        return o
    }

    static let retention: Int64 = 250_000

    static let labels: [Labels] = (0..<seriesCount).map { try! Labels(["__name__": "m", "i": String($0)]) }

    static func values(_ k: Int) -> [Double] {
        var rng = SeededRandom(seed: UInt64(k))
        return (0..<seriesCount).map { _ in Double(rng.next() % 1_000_000) / 8 }
    }

    /// What the database must hold: acknowledged commits, failed ones, deletions.
    struct Model {
        var acked: [Int64: [Double]] = [:]
        var failed: Set<Int64> = []
        /// Deletions that returned; samples in them must be gone.
        var deleted: [(series: Int, range: ClosedRange<Int64>)] = []
        /// Deletions that failed: their samples may or may not be there.
        var maybeDeleted: [(series: Int, range: ClosedRange<Int64>)] = []
        /// Whether a failed commit may have reached the disk (a power loss in the middle of
        /// it), so its samples may be there.
        var failedMayBePresent = false

        /// Problems with what `db` holds: a sample missing or changed, a deleted or failed
        /// one present, a timestamp never committed.
        func problems(in db: DB) -> [String] {
            let series: [Series]
            do { series = try db.querier(minTime: .min, maxTime: .max).select("m") } catch { return ["query failed: \(error)"] }
            var problems: [String] = []
            let newest = acked.keys.max() ?? 0
            // Retention may have dropped the blocks that end before newest - retention: they
            // are at most 3 ranges wide, aligned.
            let window = 3 * FaultWorkload.blockRange
            let horizon = (newest - FaultWorkload.retention) / window * window
            var byIndex: [Int: [Int64: Double]] = [:]
            for s in series {
                guard let i = s.labels["i"].flatMap({ Int($0) }) else { problems.append("unknown series \(s.labels)"); continue }
                var samples: [Int64: Double] = [:]
                var last = Int64.min
                for sample in s.samples {
                    if sample.timestamp <= last { problems.append("series \(i): timestamps not increasing at \(sample.timestamp)") }
                    last = sample.timestamp
                    samples[sample.timestamp] = sample.value
                }
                byIndex[i] = samples
            }
            for i in 0..<FaultWorkload.seriesCount {
                let samples = byIndex[i] ?? [:]
                var missing: [Int64] = []
                for (t, values) in acked {
                    let gone = deleted.contains { $0.series == i && $0.range.contains(t) }
                    let maybe = maybeDeleted.contains { $0.series == i && $0.range.contains(t) }
                    if let v = samples[t] {
                        if gone { problems.append("series \(i): deleted sample at \(t) is back") }
                        else if v.bitPattern != values[i].bitPattern { problems.append("series \(i): \(t) holds \(v), committed \(values[i])") }
                    } else if !gone && !maybe && t >= horizon {
                        missing.append(t)
                    }
                }
                if !missing.isEmpty { problems.append("series \(i): \(missing.count) committed samples missing, first \(missing.sorted().prefix(5))") }
                for t in samples.keys where acked[t] == nil && !(failedMayBePresent && failed.contains(t)) {
                    problems.append(failed.contains(t) ? "series \(i): sample of a failed commit at \(t)" : "series \(i): sample at \(t) never committed")
                }
            }
            return Array(problems.prefix(20))
        }
    }

    /// Runs `step` against the database; throws what the engine throws.
    static func perform(_ step: Step, db: inout DB?, model: inout Model, directory: String, snapshot: String, sys: Syscalls) throws {
        switch step {
        case .open:
            db = try DB.open(directory: directory, options: options(sys))
        case .close:
            let d = db
            db = nil
            try d?.close()
        case .commit, .commitNext:
            let t: Int64
            let values: [Double]
            switch step {
            case .commit(let k):
                t = timestamp(k)
                values = FaultWorkload.values(k)
            case .commitNext(let j):
                t = max(model.acked.keys.max() ?? 0, model.failed.max() ?? 0) + 1000
                values = FaultWorkload.values(100_000 + j)
            default: fatalError()
            }
            do {
                var app = try db!.appender()
                for (i, l) in labels.enumerated() { try app.append(l, timestamp: t, value: values[i]) }
                try app.commit()
                model.acked[t] = values
            } catch {
                model.failed.insert(t)
                throw error
            }
        case .compact:
            try db!.compact()
        case .delete(let i, let range):
            do {
                try db!.delete([Matcher.equal("i", String(i))], minTime: range.lowerBound, maxTime: range.upperBound)
                model.deleted.append((i, range))
            } catch {
                model.maybeDeleted.append((i, range))
                throw error
            }
        case .cleanTombstones:
            try db!.cleanTombstones()
        case .snapshot:
            try db!.snapshot(to: snapshot, includeHead: true)
        }
    }
}
