import TSDB

/// The mixed workload of `tsdb-bench torture`, deterministic from a seed: operation k is a
/// function of (seed, k) alone, so the process that kills the child can rebuild what every
/// acknowledged operation did without talking to it.
///
/// Synthetic time: operation k happens at ``time(ofOperation:)`` = (k + 1) s, and samples of
/// operation k lie in [t_k, t_k + 999], so every operation is newer than all before it. With
/// 20 s blocks, a head cut is due every 20 operations or so and blocks merge up to 3 min;
/// time retention keeps 5 min (300 operations). Series come and go: a window of 12 series ids
/// slides by one every 40 operations, so each series lives 480 operations.
public struct TortureWorkload: Sendable {
    public let seed: UInt64

    public static let step: Int64 = 1_000
    public static let blockRange: Int64 = 20_000
    public static let maxBlockDuration: Int64 = 180_000
    public static let retentionDuration: Int64 = 300_000
    public static let metricName = "torture"
    static let windowWidth = 12
    static let opsPerShift = 40

    public init(seed: UInt64) { self.seed = seed }

    /// What deleting selects: one series, or a group of a quarter of them.
    public enum DeleteTarget: Sendable, Equatable {
        case series(Int)
        case group(Int)

        public var selector: String {
            switch self {
            case .series(let id): "\(TortureWorkload.metricName){id=\"\(id)\"}"
            case .group(let g): "\(TortureWorkload.metricName){group=\"g\(g)\"}"
            }
        }

        public func matches(_ id: Int) -> Bool {
            switch self {
            case .series(let s): s == id
            case .group(let g): id % 4 == g
            }
        }
    }

    public enum Operation: Sendable, Equatable {
        /// One transaction: for each series id, its samples (timestamps ascending).
        case append([(id: Int, timestamps: [Int64])])
        /// `db.delete(target.selector, minTime:, maxTime:)`, inclusive; always older than the operation.
        case delete(DeleteTarget, minTime: Int64, maxTime: Int64)
        /// `db.compact()`: head cut, merges, retention.
        case compact
        /// `db.snapshot(to:includeHead:)`.
        case snapshot(includeHead: Bool)
        /// `db.cleanTombstones()`.
        case cleanTombstones

        public static func == (a: Operation, b: Operation) -> Bool {
            switch (a, b) {
            case let (.append(x), .append(y)): x.map(\.id) == y.map(\.id) && x.map(\.timestamps) == y.map(\.timestamps)
            case let (.delete(t1, a1, b1), .delete(t2, a2, b2)): t1 == t2 && a1 == a2 && b1 == b2
            case (.compact, .compact), (.cleanTombstones, .cleanTombstones): true
            case let (.snapshot(x), .snapshot(y)): x == y
            default: false
            }
        }
    }

    public static func time(ofOperation k: Int) -> Int64 { Int64(k + 1) * step }

    /// The value every sample of series `id` at `timestamp` has: exact in a Double.
    public static func value(id: Int, timestamp: Int64) -> Double { Double(id) * 1e10 + Double(timestamp) }

    public static func labels(id: Int) -> Labels {
        try! Labels([("__name__", metricName), ("group", "g\(id % 4)"), ("id", "\(id)")])
    }

    /// The series id encoded in `labels`, or nil for a series this workload did not write.
    public static func id(of labels: Labels) -> Int? {
        guard labels["__name__"] == metricName, let s = labels["id"], let id = Int(s),
              labels["group"] == "g\(id % 4)", labels.count == 3 else { return nil }
        return id
    }

    /// Operation k.
    public func operation(_ k: Int) -> Operation {
        var r = Mix(seed: seed, k: UInt64(k))
        let t = Self.time(ofOperation: k)
        let base = k / Self.opsPerShift
        let kind = k == 0 ? 0 : r.next() % 100
        switch kind {
        case 0..<76:
            var series: [(id: Int, timestamps: [Int64])] = []
            for id in base..<(base + Self.windowWidth) where r.next() % 4 != 0 {
                let n = 1 + Int(r.next() % 3)
                series.append((id, (0..<n).map { t + Int64($0) * 333 }))
            }
            if series.isEmpty { series.append((base, [t])) }
            return .append(series)
        case 76..<84:
            let target: DeleteTarget = r.next() % 2 == 0
                ? .series(base + Int(r.next() % UInt64(Self.windowWidth)))
                : .group(Int(r.next() % 4))
            let maxTime = t - 1 - Int64(r.next() % 30_000)
            let minTime = maxTime - Int64(r.next() % 60_000)
            return .delete(target, minTime: minTime, maxTime: maxTime)
        case 84..<92: return .compact
        case 92..<95: return .snapshot(includeHead: r.next() % 2 == 0)
        default: return .cleanTombstones
        }
    }

    /// The options the child opens the directory with (the checker uses the same ones).
    public func options() -> Options {
        var o = Options()
        o.blockRange = Self.blockRange
        o.maxBlockDuration = Self.maxBlockDuration
        o.retentionDuration = Self.retentionDuration
        o.maxFutureSkew = nil
        o.walSegmentSize = [32 * 1024, 64 * 1024, 128 * 1024 * 1024][Int(seed % 3)]
        o.walCompression = [WALCompression.snappy, .none, .lz4][Int(seed / 3 % 3)]
        return o
    }

    /// Where the snapshot of operation k by process `pid` goes, under `snapshots`.
    public static func snapshotPath(_ snapshots: String, operation k: Int, pid: Int32) -> String {
        "\(snapshots)/snap-\(k)-\(pid)"
    }

    /// SplitMix64 over (seed, k).
    struct Mix {
        var state: UInt64
        init(seed: UInt64, k: UInt64) { state = seed ^ (k &* 0xD6E8_FEB8_6659_FD93) }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
