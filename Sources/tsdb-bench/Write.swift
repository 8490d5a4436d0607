import ArgumentParser
import Dispatch
import Foundation
import TSDB

/// The workload of `promtool tsdb bench write`, exactly: N label sets, shards of 1000 series
/// ingested concurrently, 100 scrapes at a time, one transaction per scrape per shard.
struct Write: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest the workload of `promtool tsdb bench write` and report samples/s.",
        discussion: """
            Reads the first N unique label sets from FILE (one flat JSON object per line),
            then ingests S scrapes, 30 s apart, into a DB at OUT/storage with compaction
            disabled. Shards of 1000 series, numbered from 0 in file order, ingest
            concurrently, one transaction per scrape. Scrape k (from 0) has timestamp
            30000·(k+1) ms and gives every series the value 123456789 + 1000·(k%100 + 1).
            Example:
              tsdb-bench write --metrics 10000 --scrapes 3000 series-10k.jsonl

            With --report-commits, the line `committed <shard> <timestamp-ms>` goes to
            standard output, unbuffered, as soon as each scrape's commit returns, so that a
            parent reading the pipe knows which transactions were acknowledged when it
            kills the process. Reopen OUT/storage to see what survived.
            """)

    @Option(help: "Directory for the DB (a temporary directory by default; removed afterwards).")
    var out: String?

    @Option(help: "Number of series (unique label sets) to read from FILE.")
    var metrics = 10_000

    @Option(help: "Number of scrapes; rounded up to a multiple of 100, as promtool does.")
    var scrapes = 3_000

    @Option(help: "After ingesting, run this selector and print the first series it returns.")
    var query: String?

    @Flag(help: "Print `committed <shard> <timestamp-ms>`, unbuffered, as each scrape's commit returns.")
    var reportCommits = false

    @Option(help: "Largest WAL segment in bytes, a multiple of 32768 (default 128 MiB).")
    var walSegmentSize: Int?

    @Flag(help: "Cut the head into blocks in the background, as a server does. Off by default, as in promtool's benchmark.")
    var compaction = false

    @Flag(help: "Time every transaction (one shard's scrape: its appends and commit) and print percentiles.")
    var latency = false

    @Option(help: "WAL record compression: none, snappy or lz4.")
    var walCompression: WALCompressionArgument = .snappy

    @Option(help: "When the WAL is fsynced: segment-cut (Prometheus's default) or every-commit (group commit).")
    var walSync: WALSyncArgument = .segmentCut

    @Argument(help: "Label sets, one JSON object per line, as `promtool tsdb bench write` reads.")
    var file: String

    func validate() throws {
        guard metrics > 0 else { throw ValidationError("--metrics must be positive") }
        guard scrapes > 0 else { throw ValidationError("--scrapes must be positive") }
        if let walSegmentSize, walSegmentSize <= 0 || walSegmentSize % 32_768 != 0 {
            throw ValidationError("--wal-segment-size must be a positive multiple of 32768")
        }
    }

    func run() throws {
        let fm = FileManager.default
        let root = out ?? (NSTemporaryDirectory() + "tsdb-bench-\(getpid())")
        let removeAfter = out == nil
        let storage = root + "/storage"
        if fm.fileExists(atPath: storage) { try fm.removeItem(atPath: storage) }
        defer { if removeAfter { try? fm.removeItem(atPath: root) } }

        let labels = try LabelFile.read(file, limit: metrics)
        print(">> loaded \(labels.count) series from \(file)")
        var options = Options()
        options.compactionEnabled = compaction
        options.walCompression = walCompression.value
        options.walSyncMode = walSync.value
        if let walSegmentSize { options.walSegmentSize = walSegmentSize }
        let db = try DB.open(directory: storage, options: options)

        // Reported lines bypass stdio; flush what print() buffered before them (nil: all streams).
        if reportCommits { fflush(nil) }
        let rssBefore = Memory.residentBytes()
        let start = DispatchTime.now()
        let latencies = latency ? LatencyRecorder() : nil
        let total = try Ingest.run(db: db, labels: labels, scrapes: scrapes,
                                   onCommit: reportCommits ? Ingest.reportCommit : nil, latencies: latencies)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let rssAfter = Memory.residentBytes()

        print(">> ingestion completed")
        print(" > total samples: \(total)")
        print(" > samples/sec: \(String(format: "%.1f", Double(total) / seconds))")
        let growth = Double(rssAfter - rssBefore)
        print(" > head memory: RSS grew \(String(format: "%.1f", growth / 1_048_576)) MiB, "
            + "\(String(format: "%.0f", growth / Double(labels.count))) bytes per series, "
            + "\(String(format: "%.2f", growth / Double(max(total, 1)))) bytes per sample")

        if let latencies { print(latencies.summary(blocksWritten: db.blocks.count)) }
        if let query { try Demo.printQuery(db: db, selector: query) }
        try db.close()
    }
}

enum Ingest {
    static let shardSize = 1_000
    static let scrapesPerRound = 100
    static let interval: Int64 = 30_000

    /// Called from the shard's thread each time one of its commits returns, with the shard's
    /// index and the scrape's timestamp. Called concurrently from different shards.
    typealias CommitObserver = @Sendable (_ shard: Int, _ timestamp: Int64) -> Void

    /// Scrape k (from 0) has timestamp 30000·(k+1); series values restart at 123456789 with
    /// every round of 100 scrapes and grow by 1000 per scrape, as promtool's do.
    static func run(db: DB, labels: [Labels], scrapes: Int, onCommit: CommitObserver? = nil, latencies: LatencyRecorder? = nil) throws -> Int {
        let shards = stride(from: 0, to: labels.count, by: shardSize).map {
            Array(labels[$0..<min($0 + shardSize, labels.count)])
        }
        let total = Counter()
        let failure = FirstError()
        var round = 0
        while round * scrapesPerRound < scrapes {
            let base = Int64(round * scrapesPerRound) * interval
            DispatchQueue.concurrentPerform(iterations: shards.count) { i in
                do {
                    total.add(try ingestShard(db: db, shard: i, labels: shards[i], baseTime: base, onCommit: onCommit, latencies: latencies))
                } catch {
                    failure.set(error)
                }
            }
            if let error = failure.value { throw error }
            round += 1
        }
        return total.value
    }

    private static func ingestShard(
        db: DB, shard: Int, labels: [Labels], baseTime: Int64, onCommit: CommitObserver?, latencies: LatencyRecorder?
    ) throws -> Int {
        var timings: [UInt64] = []
        if latencies != nil { timings.reserveCapacity(scrapesPerRound) }
        defer { latencies?.add(timings) }
        var refs = [SeriesRef?](repeating: nil, count: labels.count)
        var value = 123_456_789.0
        var timestamp = baseTime
        var n = 0
        for _ in 0..<scrapesPerRound {
            timestamp += interval
            value += 1000
            let started = latencies == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            var app = try db.appender()
            for i in labels.indices {
                if let ref = refs[i] {
                    try app.append(ref, timestamp: timestamp, value: value)
                } else {
                    refs[i] = try app.append(labels[i], timestamp: timestamp, value: value)
                }
            }
            n += labels.count
            try app.commit()
            if latencies != nil { timings.append(DispatchTime.now().uptimeNanoseconds - started) }
            onCommit?(shard, timestamp)
        }
        return n
    }

    /// Writes `committed <shard> <timestamp>` to standard output with one write(2), so the
    /// line is in the pipe when this returns and lines of concurrent shards never interleave.
    static let reportCommit: CommitObserver = { shard, timestamp in
        FileHandle.standardOutput.write(Data("committed \(shard) \(timestamp)\n".utf8))
    }
}

/// `--wal-compression`'s values.
enum WALCompressionArgument: String, ExpressibleByArgument, CaseIterable {
    case none, snappy, lz4

    var value: WALCompression {
        switch self {
        case .none: .none
        case .snappy: .snappy
        case .lz4: .lz4
        }
    }
}

/// `--wal-sync`'s values.
enum WALSyncArgument: String, ExpressibleByArgument, CaseIterable {
    case segmentCut = "segment-cut"
    case everyCommit = "every-commit"

    var value: WALSyncMode {
        switch self {
        case .segmentCut: .onSegmentCut
        case .everyCommit: .everyCommit
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}

final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    var value: Error? { lock.lock(); defer { lock.unlock() }; return error }
}

enum Memory {
    /// Resident set size from /proc/self/statm, in bytes (0 where /proc is missing).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Transaction latencies gathered from every shard, for `--latency`.
final class LatencyRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var nanoseconds: [UInt64] = []

    func add(_ values: [UInt64]) { lock.lock(); nanoseconds += values; lock.unlock() }

    func summary(blocksWritten: Int) -> String {
        lock.lock()
        let sorted = nanoseconds.sorted()
        lock.unlock()
        guard !sorted.isEmpty else { return " > latency: no transactions" }
        func at(_ q: Double) -> String {
            let v = sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
            return String(format: "%.3f ms", Double(v) / 1e6)
        }
        return " > transaction latency (1000 appends + commit) over \(sorted.count) transactions, \(blocksWritten) blocks on disk at the end: "
            + "p50 \(at(0.5)), p99 \(at(0.99)), p99.9 \(at(0.999)), max \(at(1.0))"
    }
}
