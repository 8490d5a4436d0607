import ArgumentParser
import Dispatch
import Foundation
import TSDB

/// Generates the data the PromQL differential test and speed comparison query: realistic
/// shapes, deterministic from a seed, written as blocks by our own block writer.
struct PromQLData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promql-data",
        abstract: "Generate PromQL test data (counters, gauges, histograms, gaps, staleness) as blocks.",
        discussion: """
            Writes DIR as a data directory holding blocks only (no WAL, no head): samples from
            --start (a multiple of 2 h, ms) for --hours hours, one block per 2 h window (each
            window appended to a scratch DB whose head a snapshot writes as a block with our
            block writer). A Prometheus on a copy of DIR and our engine on DIR see the same data.

            Per instance (jobs api, worker at 15 s; db at 30 s; each target with its own scrape
            offset and a few ms of jitter): http_requests_total{method,status} counters,
            process_cpu_seconds_total, request_duration_seconds histogram (_bucket{le}, _sum,
            _count; api and worker), memory_usage_bytes and temperature_celsius gauges
            (negative values, rare NaN), queue_length (series that go stale and come back),
            up, build_info{version}. Instances restart now and then (every counter resets);
            some series have gaps longer than the lookback; one target per job goes down for
            a while (stale markers on all its series, up = 0).
            --series is the approximate total; instances are added until it is reached.
            Example (the differential test's data; the speed runs use --series 10000 and
            --series 100000 with --hours 24 or fewer):
              tsdb-bench promql-data /tmp/promql --series 300 --hours 6 --seed 1
            """)

    @Argument(help: "The directory to write; it must not hold blocks yet.")
    var directory: String

    @Option(help: "Approximate number of series.")
    var series = 300

    @Option(help: "Hours of data (a whole number).")
    var hours = 6

    @Option(help: "Seed of the generator.")
    var seed: UInt64 = 1

    @Option(help: "First timestamp (ms); a multiple of 7200000.")
    var start: Int64 = PromQLDataset.defaultStart

    func validate() throws {
        guard series > 0 else { throw ValidationError("--series must be positive") }
        guard hours > 0, hours <= 24 * 60 else { throw ValidationError("--hours must be in 1...1440") }
        guard start >= 0, start % 7_200_000 == 0 else { throw ValidationError("--start must be a non-negative multiple of 7200000") }
    }

    func run() throws {
        let began = DispatchTime.now()
        let plan = PromQLDataset(seriesTarget: series, hours: hours, seed: seed, start: start)
        let stats = try plan.write(to: directory)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds) / 1e9
        print(">> \(stats.series) series, \(stats.samples) samples in [\(start), \(plan.end)) ms")
        print(" > blocks: \(stats.blocks)")
        print(" > seconds: \(String(format: "%.3f", seconds))")
    }
}

/// A seeded SplitMix64: the same seed gives the same data on every machine.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / 9_007_199_254_740_992.0 }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}

/// The plan of the data: which series, which values at which times.
struct PromQLDataset {
    static let defaultStart: Int64 = 1_699_999_200_000  // 2023-11-14T22:00:00Z, a 2 h boundary
    static let staleNaN = Double(bitPattern: 0x7ff0_0000_0000_0002)
    static let buckets: [(le: String, bound: Double)] = [
        ("0.005", 0.005), ("0.01", 0.01), ("0.025", 0.025), ("0.05", 0.05), ("0.1", 0.1), ("0.25", 0.25),
        ("0.5", 0.5), ("1", 1), ("2.5", 2.5), ("5", 5), ("10", 10), ("+Inf", .infinity),
    ]
    static let jobs: [(name: String, interval: Int64)] = [("api", 15_000), ("worker", 15_000), ("db", 30_000)]

    let seriesTarget: Int
    let hours: Int
    let seed: UInt64
    let start: Int64
    var end: Int64 { start + Int64(hours) * 3_600_000 }

    struct Stats { var series = 0, samples = 0, blocks = 0 }

    /// What one value of a series does over time.
    enum Kind {
        case counter(rate: Double)            // per second
        case bucket(index: Int)               // of the instance's histogram
        case histogramSum, histogramCount
        case gauge(base: Double, amplitude: Double, periodSeconds: Double, noise: Double, nanChance: Double)
        case up
        case constant(Double)
    }

    struct SeriesPlan {
        var labels: Labels
        var kind: Kind
        /// Stale marker after this window's first missed scrape, or silently absent (a gap).
        var absent: [(from: Int64, to: Int64, stale: Bool)]
        var ref: SeriesRef?
        var value = 0.0
        var wasAbsent = false
    }

    /// One scrape target: its series share the scrape times, restarts and down time.
    struct Target {
        var job: String
        var instance: String
        var interval: Int64
        var offset: Int64
        var down: (from: Int64, to: Int64)?
        var restarts: [Int64]
        var series: [SeriesPlan] = []
        /// The histogram's state: cumulative counts per bucket, sum, count.
        var bucketCounts: [Double] = Array(repeating: 0, count: PromQLDataset.buckets.count)
        var histSum = 0.0
        var nextRestart = 0
    }

    func makeTargets() throws -> [Target] {
        var rng = SplitMix64(seed: seed)
        var targets: [Target] = []
        var total = 0
        let span = end - start
        var index = 0
        while total < seriesTarget {
            let job = Self.jobs[index % Self.jobs.count]
            let instance = "host-\(index / Self.jobs.count):\(9100 + index % Self.jobs.count)"
            var target = Target(job: job.name, instance: instance, interval: job.interval,
                                offset: Int64(rng.below(Int(job.interval))), down: nil, restarts: [])
            // The second target of each job goes down for 20 minutes somewhere in the middle.
            if index / Self.jobs.count == 1, span > 3_600_000 {
                let from = start + span / 3 + Int64(rng.below(Int(span / 3)))
                target.down = (from, from + 20 * 60_000)
            }
            for _ in 0..<(1 + rng.below(3)) where rng.unit() < 0.6 {
                target.restarts.append(start + Int64(rng.unit() * Double(span)))
            }
            target.restarts.sort()
            let base = [("job", job.name), ("instance", instance)]
            func add(_ name: String, _ extra: [(String, String)], _ kind: Kind, gapChance: Double = 0.1) throws {
                var absent: [(Int64, Int64, Bool)] = []
                if rng.unit() < gapChance {
                    let from = start + Int64(rng.unit() * Double(span))
                    absent.append((from, from + Int64(6 + rng.below(15)) * 60_000, false))
                }
                let labels = try Labels([("__name__", name)] + base + extra)
                target.series.append(SeriesPlan(labels: labels, kind: kind, absent: absent))
            }
            for method in ["GET", "POST"] {
                for status in ["200", "404", "500"] {
                    let r = (method == "GET" ? 20.0 : 4.0) * (status == "200" ? 1 : status == "404" ? 0.05 : 0.01)
                    try add("http_requests_total", [("method", method), ("status", status)], .counter(rate: r * (0.5 + rng.unit())))
                }
            }
            try add("process_cpu_seconds_total", [], .counter(rate: 0.05 + 0.5 * rng.unit()))
            if job.name != "db" {
                for (i, b) in Self.buckets.enumerated() {
                    try add("request_duration_seconds_bucket", [("le", b.le)], .bucket(index: i), gapChance: 0)
                }
                try add("request_duration_seconds_sum", [], .histogramSum, gapChance: 0)
                try add("request_duration_seconds_count", [], .histogramCount, gapChance: 0)
            }
            try add("memory_usage_bytes", [], .gauge(base: 2e8 + 1e8 * rng.unit(), amplitude: 5e7, periodSeconds: 3600 * (1 + rng.unit()), noise: 1e6, nanChance: 0))
            try add("temperature_celsius", [("zone", index % 2 == 0 ? "inside" : "outside")],
                    .gauge(base: index % 2 == 0 ? 21 : -3, amplitude: 8, periodSeconds: 7200, noise: 0.5, nanChance: 0.002))
            try add("queue_length", [], .gauge(base: 10, amplitude: 10, periodSeconds: 1800, noise: 3, nanChance: 0), gapChance: 0)
            if let last = target.series.indices.last, rng.unit() < 0.5 {
                // A series that goes away with a stale marker and comes back.
                let from = start + Int64(rng.unit() * Double(span) * 0.8)
                target.series[last].absent.append((from, from + Int64(10 + rng.below(30)) * 60_000, true))
            }
            try add("up", [], .up, gapChance: 0)
            try add("build_info", [("version", "1.\(index % 4).\(rng.below(3))")], .constant(1), gapChance: 0)
            total += target.series.count
            targets.append(target)
            index += 1
        }
        return targets
    }

    /// Writes each 2 h window as one block: its samples appended to a fresh scratch DB whose
    /// head a snapshot then writes as a block (our block writer), moved into `directory`.
    func write(to directory: String) throws -> Stats {
        var targets = try makeTargets()
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let existing = try fm.contentsOfDirectory(atPath: directory).filter { $0.count == 26 }
        guard existing.isEmpty else { throw ValidationError("\(directory) already holds blocks: \(existing.sorted())") }
        let scratch = directory + "/.promql-data-scratch"
        defer { try? fm.removeItem(atPath: scratch) }
        var options = Options()
        options.compactionEnabled = false
        options.maxFutureSkew = nil
        options.walCompression = .none
        var stats = Stats()
        stats.series = targets.reduce(0) { $0 + $1.series.count }
        var rng = SplitMix64(seed: seed ^ 0xDA7A)
        // Every 15 s tick, the targets whose scrape falls in it.
        let tick: Int64 = 15_000
        let window: Int64 = 7_200_000
        var windowStart = start
        while windowStart < end {
            let windowEnd = min(windowStart + window, end)
            if fm.fileExists(atPath: scratch) { try fm.removeItem(atPath: scratch) }
            let db = try DB.open(directory: scratch + "/db", options: options)
            for i in targets.indices {
                for s in targets[i].series.indices { targets[i].series[s].ref = nil }
            }
            var t0 = windowStart
            while t0 < windowEnd {
                var app = try db.appender()
                for i in targets.indices where (t0 - start) % targets[i].interval == 0 {
                    let ts = t0 + targets[i].offset + Int64(rng.below(7))
                    guard ts < windowEnd else { continue }
                    stats.samples += try scrape(&targets[i], at: ts, seconds: Double(targets[i].interval) / 1000, rng: &rng, app: &app)
                }
                try app.commit()
                t0 += tick
            }
            let metas = try db.snapshot(to: scratch + "/snapshot", includeHead: true)
            try db.close()
            for m in metas {
                try fm.moveItem(atPath: scratch + "/snapshot/\(m.ulid)", toPath: directory + "/\(m.ulid)")
                stats.blocks += 1
            }
            windowStart = windowEnd
        }
        return stats
    }

    /// One scrape of a target at `ts`: appends each series' value (or a stale marker, or
    /// nothing in a gap). Returns the number of samples appended.
    func scrape(_ target: inout Target, at ts: Int64, seconds: Double, rng: inout SplitMix64, app: inout Appender) throws -> Int {
        var restarted = false
        while target.nextRestart < target.restarts.count, target.restarts[target.nextRestart] <= ts {
            target.nextRestart += 1
            restarted = true
        }
        if restarted {
            for i in target.bucketCounts.indices { target.bucketCounts[i] = 0 }
            target.histSum = 0
        }
        let isDown = target.down.map { ts >= $0.from && ts < $0.to } ?? false
        // This scrape's histogram observations, spread log-normally around ~0.2 s.
        if !isDown {
            let n = 2 + rng.below(Int(seconds * 3))
            for _ in 0..<n {
                let x = exp(-1.6 + 1.2 * (rng.unit() + rng.unit() + rng.unit() - 1.5))
                target.histSum += x
                for (i, b) in Self.buckets.enumerated() where x <= b.bound { target.bucketCounts[i] += 1 }
            }
        }
        var appended = 0
        for s in target.series.indices {
            var plan = target.series[s]
            defer { target.series[s] = plan }
            if restarted, case .counter = plan.kind { plan.value = 0 }
            var value: Double
            switch plan.kind {
            case .counter(let rate):
                plan.value += rate * seconds * (0.5 + rng.unit()) + (rate > 1 ? 0 : (rng.unit() < 0.3 ? 1 : 0))
                value = plan.value
            case .bucket(let index): value = target.bucketCounts[index]
            case .histogramSum: value = target.histSum
            case .histogramCount: value = target.bucketCounts.last ?? 0
            case .gauge(let base, let amplitude, let period, let noise, let nanChance):
                let phase = Double(ts - start) / 1000 / period * 2 * Double.pi
                value = base + amplitude * sin(phase) + noise * (rng.unit() - 0.5)
                if nanChance > 0, rng.unit() < nanChance { value = .nan }
                if base > 1000 { value = value.rounded() }
            case .up: value = isDown ? 0 : 1
            case .constant(let c): value = c
            }
            var missing = isDown
            var staleWindow = isDown
            if case .up = plan.kind { missing = false }
            for w in plan.absent where ts >= w.from && ts < w.to {
                missing = true
                staleWindow = staleWindow || w.stale
            }
            if missing {
                if !plan.wasAbsent, staleWindow {
                    try append(&plan, ts, Self.staleNaN, &app)
                    appended += 1
                }
                plan.wasAbsent = true
                continue
            }
            plan.wasAbsent = false
            try append(&plan, ts, value, &app)
            appended += 1
        }
        return appended
    }

    private func append(_ plan: inout SeriesPlan, _ ts: Int64, _ value: Double, _ app: inout Appender) throws {
        if let ref = plan.ref {
            do {
                plan.ref = try app.append(ref, timestamp: ts, value: value)
                return
            } catch where error.code == .unknownSeriesRef {
                // The head dropped the series at a cut (it had no sample left): add it anew.
            }
        }
        do {
            plan.ref = try app.append(plan.labels, timestamp: ts, value: value)
        }
    }
}
