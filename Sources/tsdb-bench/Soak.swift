import ArgumentParser
import Foundation
import TSDB

#if canImport(Glibc)
import Glibc
#endif

/// A long run on a fast-forward clock: steady ingest with series churn, queries on other
/// threads, periodic deletes, blocks cut, merged and deleted by retention; prints the
/// process's resources as it goes and fails if they or the directory grow without bound.
struct Soak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest, query, delete and compact for a wall-clock duration on a fast-forward clock; check resources stay bounded.",
        discussion: """
            Synthetic time runs SPEEDUP times faster than the wall clock (Options.clock returns
            it), so with the defaults 1 h of data takes 3 s and blocks are cut, merged and
            deleted by retention all through the run. One thread ingests a scrape of every
            active series every --scrape-interval synthetic ms, one transaction per scrape;
            a tenth of the series is replaced every synthetic hour. When ingest falls more
            than two scrapes behind the clock it skips to the current one (and counts it). --query-threads threads
            query meanwhile; every --delete-every wall seconds a series' older samples are
            deleted, and every fourth time tombstones are cleaned.

            At the start and every --interval seconds it prints one line: RSS (VmRSS), open
            descriptors (/proc/self/fd), mappings (lines of /proc/self/maps), disk use of the
            directory (apparent sizes of every file but `lock`), blocks, head series and
            samples ingested. Resources are sampled every second and disk use every 100 ms.

            It exits 1 if:
            - disk use ever exceeded --retention-size by more than the WAL and chunks_head grew
              in the last 2 s, while they alone were within it (README: only they may take the
              directory over the limit; retention runs about once a second, and until it does
              the WAL grows by what is ingested);
            - descriptors or mappings grew: the largest value of the last quarter of the run
              is more than the largest of the second quarter plus --fd-slack / --map-slack
              (the first quarter is warm-up);
            - descriptors after close are more than before open plus 2.
            Example:
              tsdb-bench soak --duration 120 --out /tmp/soak
            """)

    @Option(help: "Wall-clock seconds to run.")
    var duration: Double

    @Option(help: "Directory for the DB (a temporary directory by default; removed afterwards).")
    var out: String?

    @Option(help: "Synthetic milliseconds per wall millisecond.")
    var speedup: Int64 = 1_200

    @Option(help: "Size retention in bytes.")
    var retentionSize: Int64 = 24 << 20

    @Option(help: "Time retention in synthetic milliseconds.")
    var retentionDuration: Int64 = 48 * 3_600_000

    @Option(help: "Largest block compaction builds, in synthetic milliseconds.")
    var maxBlockDuration: Int64 = 18 * 3_600_000

    @Option(help: "Active series at any time.")
    var series = 2_000

    @Option(help: "Synthetic milliseconds between scrapes.")
    var scrapeInterval: Int64 = 15_000

    @Option(help: "Threads that query while ingesting.")
    var queryThreads = 2

    @Option(help: "Wall seconds between deletes.")
    var deleteEvery: Double = 5

    @Option(help: "Wall seconds between status lines.")
    var interval: Double = 60

    @Option(help: "Descriptors the last quarter may peak above the second quarter.")
    var fdSlack = 32

    @Option(help: "Mappings the last quarter may peak above the second quarter.")
    var mapSlack = 128

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard speedup > 0, series > 0, scrapeInterval > 0, queryThreads >= 0, interval > 0, deleteEvery > 0 else {
            throw ValidationError("--speedup, --series, --scrape-interval, --interval and --delete-every must be positive")
        }
    }

    static let epoch: Int64 = 1_700_000_000_000

    func run() throws {
        let fm = FileManager.default
        let root = out ?? (NSTemporaryDirectory() + "tsdb-soak-\(getpid())")
        if fm.fileExists(atPath: root) { try fm.removeItem(atPath: root) }
        defer { if out == nil { try? fm.removeItem(atPath: root) } }

        let wallStart = DispatchTime.now().uptimeNanoseconds
        let speedup = self.speedup
        let clock: @Sendable () -> Int64 = {
            Soak.epoch + Int64((DispatchTime.now().uptimeNanoseconds - wallStart) / 1_000_000) * speedup
        }
        var options = Options()
        options.clock = clock
        options.retentionSize = retentionSize
        options.retentionDuration = retentionDuration
        options.maxBlockDuration = maxBlockDuration

        let fdsBeforeOpen = ProcessResources.openDescriptors()
        let db = try DB.open(directory: root, options: options)
        let state = SoakState()
        let stop = StopSignal()
        let sampler = ResourceSampler(directory: root, db: db, state: state)

        print("soak: \(duration) s wall, speedup \(speedup) (1 h synthetic per \(String(format: "%.2f", 3_600_000 / Double(speedup) / 1000)) s), "
            + "\(series) series every \(scrapeInterval) ms, retention \(retentionSize) bytes / \(retentionDuration) ms, directory \(root)")
        print(sampler.sample(elapsed: 0, full: true).line)
        fflush(nil)

        let threads = DispatchGroup()
        for q in 0..<queryThreads {
            Self.thread(name: "query-\(q)", threads) {
                Self.queryLoop(db: db, state: state, stop: stop, seed: UInt64(q), clock: clock)
            }
        }
        let deleteEvery = self.deleteEvery
        let seriesCount = series
        let scrapeInterval = self.scrapeInterval
        Self.thread(name: "delete", threads) {
            Self.deleteLoop(db: db, state: state, stop: stop, every: deleteEvery, series: seriesCount, scrapeInterval: scrapeInterval, clock: clock)
        }
        Self.thread(name: "disk", threads) {
            while !stop.isSet {
                sampler.sampleDisk()
                usleep(100_000)
            }
        }
        Self.thread(name: "ingest", threads) {
            Self.ingestLoop(db: db, state: state, stop: stop, series: seriesCount, scrapeInterval: scrapeInterval, clock: clock)
        }

        // The main thread samples once a second and prints every interval.
        var nextPrint = interval
        while true {
            usleep(1_000_000)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
            let done = elapsed >= duration || state.failure != nil
            let s = sampler.sample(elapsed: elapsed, full: elapsed >= nextPrint || done)
            if elapsed >= nextPrint || done {
                print(s.line)
                fflush(nil)
                while nextPrint <= elapsed { nextPrint += interval }
            }
            if done { break }
        }
        stop.set()
        threads.wait()
        let synthetic = clock() - Soak.epoch
        try db.close()
        let fdsAfterClose = ProcessResources.openDescriptors()

        var failures: [String] = []
        if let failure = state.failure { failures.append("a worker failed: \(failure)") }
        print(sampler.summary(duration: duration, syntheticMs: synthetic, state: state))
        failures += sampler.check(retentionSize: retentionSize, fdSlack: fdSlack, mapSlack: mapSlack)
        print("  fds before open \(fdsBeforeOpen), after close \(fdsAfterClose)")
        if fdsAfterClose > fdsBeforeOpen + 2 {
            failures.append("\(fdsAfterClose - fdsBeforeOpen) descriptors more after close than before open")
        }
        if failures.isEmpty {
            print("soak: ok")
        } else {
            for f in failures { print("soak: FAILED: \(f)") }
            fflush(nil)
            throw ExitCode(1)
        }
    }

    /// Starts a thread running `body`, inside `group` until it returns.
    private static func thread(name: String, _ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let t = Thread {
            body()
            group.leave()
        }
        t.name = name
        t.start()
    }

    static func labels(id: Int) -> Labels {
        try! Labels([("__name__", "soak_metric_\(id % 5)"), ("id", "\(id)"), ("instance", "host-\(id % 97)")])
    }

    /// The first active series id at scrape number `n`: a tenth of the window moves on every hour.
    static func firstActive(scrape n: Int64, series: Int, scrapeInterval: Int64) -> Int {
        let scrapesPerHour = max(1, 3_600_000 / scrapeInterval)
        return Int(n / scrapesPerHour) * max(1, series / 10)
    }

    static func ingestLoop(db: DB, state: SoakState, stop: StopSignal, series: Int, scrapeInterval: Int64, clock: @Sendable () -> Int64) {
        var cache: [Int: Labels] = [:]
        var n: Int64 = 0
        do {
            while !stop.isSet {
                let now = clock()
                if epoch + n * scrapeInterval > now {
                    usleep(1_000)
                    continue
                }
                // Behind by more than two scrapes: skip to the latest, as a scraper that
                // missed its slots does, so that the data keeps up with the clock.
                let due = (now - epoch) / scrapeInterval
                if due > n + 2 {
                    state.addSkipped(Int(due - n))
                    n = due
                }
                let t = epoch + n * scrapeInterval
                let first = firstActive(scrape: n, series: series, scrapeInterval: scrapeInterval)
                if let oldest = cache.keys.min(), oldest < first {
                    for id in cache.keys where id < first { cache[id] = nil }
                }
                var app = try db.appender()
                for id in first..<(first + series) {
                    let l: Labels
                    if let c = cache[id] { l = c } else { l = labels(id: id); cache[id] = l }
                    try app.append(l, timestamp: t, value: Double(n % 1_000) + Double(id))
                }
                try app.commit()
                state.addSamples(series)
                n += 1
            }
        } catch {
            state.fail("ingest at scrape \(n): \(error)")
        }
    }

    static func queryLoop(db: DB, state: SoakState, stop: StopSignal, seed: UInt64, clock: @Sendable () -> Int64) {
        var rng = SystemRandomNumberGenerator()
        do {
            while !stop.isSet {
                let now = clock()
                let samples: Int
                if Bool.random(using: &rng) {
                    let q = try db.querier(minTime: now - 3 * 3_600_000, maxTime: now)
                    samples = try q.select("soak_metric_\(Int.random(in: 0..<5, using: &rng)){instance=\"host-\(Int.random(in: 0..<97, using: &rng))\"}")
                        .reduce(0) { $0 + $1.samples.count }
                } else {
                    let q = try db.querier(minTime: .min, maxTime: .max)
                    samples = try q.select(#"{__name__=~"soak_metric_.*", instance="host-\#(Int.random(in: 0..<97, using: &rng))"}"#)
                        .reduce(0) { $0 + $1.samples.count }
                }
                state.addQuery(samples: samples)
                usleep(5_000)
            }
        } catch {
            state.fail("query: \(error)")
        }
    }

    static func deleteLoop(db: DB, state: SoakState, stop: StopSignal, every: Double, series: Int, scrapeInterval: Int64, clock: @Sendable () -> Int64) {
        var rng = SystemRandomNumberGenerator()
        var count = 0
        do {
            while !stop.isSet {
                let wait = Int(every * 1000)
                for _ in 0..<max(1, wait / 10) where !stop.isSet { usleep(10_000) }
                guard !stop.isSet else { return }
                let now = clock()
                let first = firstActive(scrape: (now - epoch) / scrapeInterval, series: series, scrapeInterval: scrapeInterval)
                let id = first + Int.random(in: 0..<series, using: &rng)
                try db.delete("soak_metric_\(id % 5){id=\"\(id)\"}", minTime: now - 12 * 3_600_000, maxTime: now - 3_600_000)
                count += 1
                if count % 4 == 0 { try db.cleanTombstones() }
                state.addDelete()
            }
        } catch {
            state.fail("delete: \(error)")
        }
    }
}

final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return flag }
    func set() { lock.lock(); flag = true; lock.unlock() }
}

/// Counters the workers share, behind one lock.
final class SoakState: @unchecked Sendable {
    private let lock = NSLock()
    private var samples = 0
    private var queries = 0
    private var queriedSamples = 0
    private var deletes = 0
    private var skipped = 0
    private var firstFailure: String?

    func addSamples(_ n: Int) { lock.lock(); samples += n; lock.unlock() }
    func addQuery(samples n: Int) { lock.lock(); queries += 1; queriedSamples += n; lock.unlock() }
    func addDelete() { lock.lock(); deletes += 1; lock.unlock() }
    func addSkipped(_ n: Int) { lock.lock(); skipped += n; lock.unlock() }
    func fail(_ s: String) { lock.lock(); if firstFailure == nil { firstFailure = s }; lock.unlock() }
    var failure: String? { lock.lock(); defer { lock.unlock() }; return firstFailure }
    var counts: (samples: Int, queries: Int, queriedSamples: Int, deletes: Int, skipped: Int) {
        lock.lock(); defer { lock.unlock() }
        return (samples, queries, queriedSamples, deletes, skipped)
    }
}

enum ProcessResources {
    /// VmRSS from /proc/self/status, in bytes.
    static func residentBytes() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int64($0) } ?? 0
            return kb * 1024
        }
        return 0
    }

    /// Entries of /proc/self/fd, less the one listing it.
    static func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 1) - 1
    }

    /// Lines of /proc/self/maps.
    static func mappings() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return 0 }
        return text.utf8.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
    }

    /// Apparent sizes of every regular file under `path` but a top-level `lock`, following
    /// no symlinks; files that vanish while walking count as gone.
    static func diskBytes(_ path: String, top: Bool = true) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        if st.st_mode & S_IFMT == S_IFREG { return Int64(st.st_size) }
        guard st.st_mode & S_IFMT == S_IFDIR,
              let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return 0 }
        var total: Int64 = 0
        for name in names where !(top && name == "lock") { total += diskBytes(path + "/" + name, top: false) }
        return total
    }
}

/// Samples of the process's resources and the directory, kept for the summary.
final class ResourceSampler: @unchecked Sendable {
    struct Sample {
        var elapsed: Double
        var rss: Int64
        var fds: Int
        var maps: Int
        var disk: Int64
        var blocks: Int
        var headSeries: Int
        var samples: Int
        var line: String = ""
    }

    private let directory: String
    private let db: DB
    private let state: SoakState
    private let lock = NSLock()
    private var history: [Sample] = []
    private var maxDisk: Int64 = 0
    /// Every block seen at a sample, to count those deleted since.
    private var seenBlocks = Set<String>()
    private var currentBlocks = Set<String>()
    /// The worst disk sample over the limit by more than the WAL and head chunks grew in the
    /// last ``roundWindow`` seconds, while they alone were within it.
    private var overLimit: (disk: Int64, walAndHeadChunks: Int64, growth: Int64, elapsed: Double)?
    /// WAL and head chunk bytes at the disk samples of the last ``roundWindow`` seconds.
    private var recentOther: [(elapsed: Double, bytes: Int64)] = []
    /// The most the directory was over the limit within the allowance.
    private var maxOverWithinGrowth: Int64 = 0
    private var retentionSize: Int64 = .max
    private let started = DispatchTime.now().uptimeNanoseconds

    init(directory: String, db: DB, state: SoakState) {
        self.directory = directory
        self.db = db
        self.state = state
        retentionSize = db.options.retentionSize ?? .max
    }

    func sample(elapsed: Double, full: Bool) -> Sample {
        let c = state.counts
        var s = Sample(elapsed: elapsed, rss: ProcessResources.residentBytes(), fds: ProcessResources.openDescriptors(),
                       maps: ProcessResources.mappings(), disk: ProcessResources.diskBytes(directory),
                       blocks: db.blocks.count, headSeries: db.headSeriesCount, samples: c.samples)
        let synthetic = Double(db.options.clock() - Soak.epoch) / 3_600_000
        s.line = String(format: "soak t=%.0fs synthetic=%.1fh rss=%.1fMiB fds=%d maps=%d disk=%.2fMiB blocks=%d head_series=%d samples=%d queries=%d deletes=%d",
                        elapsed, synthetic, Double(s.rss) / 1_048_576, s.fds, s.maps, Double(s.disk) / 1_048_576, s.blocks, s.headSeries, s.samples,
                        c.queries, c.deletes)
        let ulids = Set(db.blocks.map(\.ulid.description))
        lock.lock()
        history.append(s)
        maxDisk = max(maxDisk, s.disk)
        seenBlocks.formUnion(ulids)
        currentBlocks = ulids
        lock.unlock()
        return s
    }

    func sampleDisk() {
        let disk = ProcessResources.diskBytes(directory)
        let other = ProcessResources.diskBytes(directory + "/wal", top: false) + ProcessResources.diskBytes(directory + "/chunks_head", top: false)
        let now = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        lock.lock(); defer { lock.unlock() }
        maxDisk = max(maxDisk, disk)
        recentOther.append((now, other))
        recentOther.removeAll { $0.elapsed < now - Self.roundWindow }
        guard disk > retentionSize, other <= retentionSize else { return }
        // Retention runs once a round (about a second): until the next one, the WAL and
        // head chunks grow by what is ingested meanwhile. That much over the limit is allowed.
        let growth = other - (recentOther.map(\.bytes).min() ?? other)
        let over = disk - retentionSize
        if over > growth, over - growth > (overLimit.map { $0.disk - retentionSize - $0.growth } ?? 0) {
            overLimit = (disk, other, growth, now)
        }
        maxOverWithinGrowth = max(maxOverWithinGrowth, min(over, growth))
    }

    /// How far back the WAL's growth counts as ingest since the last maintenance round:
    /// the background thread's 1 s period plus the round itself.
    static let roundWindow = 2.0

    func summary(duration: Double, syntheticMs: Int64, state: SoakState) -> String {
        lock.lock(); defer { lock.unlock() }
        let c = state.counts
        func row<T: Comparable>(_ name: String, _ key: (Sample) -> T, _ format: (T) -> String) -> String {
            let values = history.map(key)
            guard let first = values.first, let last = values.last, let most = values.max() else {
                return "  \(name): no samples"
            }
            return "  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) start \(format(first)) end \(format(last)) max \(format(most))"
        }
        let mib = { (v: Int64) in String(format: "%.2fMiB", Double(v) / 1_048_576) }
        return [
            "soak summary: \(String(format: "%.0f", history.last?.elapsed ?? 0)) s wall, \(String(format: "%.1f", Double(syntheticMs) / 3_600_000)) h synthetic, "
                + "\(c.samples) samples, \(c.queries) queries (\(c.queriedSamples) samples read), \(c.deletes) deletes, \(c.skipped) scrapes skipped to keep up with the clock, \(history.count) resource samples",
            row("rss", \.rss, mib),
            row("fds", \.fds, String.init),
            row("maps", \.maps, String.init),
            row("disk", \.disk, mib) + " (every 100 ms: max \(mib(maxDisk)), limit \(mib(retentionSize)))",
            row("blocks", \.blocks, String.init) + " (\(seenBlocks.count) seen, \(seenBlocks.subtracting(currentBlocks).count) of them deleted since)",
            row("head_series", \.headSeries, String.init),
        ].joined(separator: "\n")
    }

    /// The pass/fail criteria of `--help`.
    func check(retentionSize: Int64, fdSlack: Int, mapSlack: Int) -> [String] {
        lock.lock(); defer { lock.unlock() }
        var failures: [String] = []
        if let o = overLimit {
            failures.append("disk use \(o.disk) bytes at \(String(format: "%.1f", o.elapsed)) s exceeded the limit \(retentionSize) by more than the \(o.growth) bytes the WAL and chunks_head grew in the last \(Self.roundWindow) s (they held \(o.walAndHeadChunks))")
        }
        guard let end = history.last?.elapsed, end > 0 else { return failures }
        let second = history.filter { $0.elapsed >= end / 4 && $0.elapsed < end / 2 }
        let last = history.filter { $0.elapsed >= end * 3 / 4 }
        guard !second.isEmpty, !last.isEmpty else { return failures + ["too few samples to judge growth"] }
        for (name, key, slack) in [("fds", { (s: Sample) in s.fds }, fdSlack), ("maps", { (s: Sample) in s.maps }, mapSlack)] {
            let baseline = second.map(key).max()!
            let peak = last.map(key).max()!
            print("  check \(name): last-quarter peak \(peak), second-quarter peak \(baseline), slack \(slack): \(peak <= baseline + slack ? "ok" : "GROWTH")")
            if peak > baseline + slack { failures.append("\(name) grew: last-quarter peak \(peak) > second-quarter peak \(baseline) + \(slack)") }
        }
        let rssBase = second.map(\.rss).max()!
        let rssPeak = last.map(\.rss).max()!
        print(String(format: "  rss: last-quarter peak %.1f MiB, second-quarter peak %.1f MiB (reported, not judged)", Double(rssPeak) / 1_048_576, Double(rssBase) / 1_048_576))
        print("  check disk: \(overLimit == nil ? "ok" : "OVER"): max \(maxDisk) bytes, limit \(retentionSize), at most \(maxOverWithinGrowth) bytes over it within the WAL's growth of the last \(Self.roundWindow) s")
        return failures
    }
}
