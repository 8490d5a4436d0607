// A daemon that records its own metrics into an embedded TSDB and queries them with PromQL.
//
//   swift run metrics-daemon-example [--path DIR] [--interval SECONDS] [--seconds SECONDS]
//
// It opens a database (in a new temporary directory unless --path is given), bootstraps
// swift-metrics with a TSDBMetricsFactory sampling every --interval (default 1 s), works for
// --seconds (default 4 s), counting and timing its loops, then prints PromQL results over
// its own metrics, one `query = value` line each.

import Foundation
import Metrics
import PromQL
import TSDB
import TSDBMetrics

struct Arguments {
    var path: String?
    var interval = 1.0
    var seconds = 4.0

    init(_ args: ArraySlice<String>) throws {
        var rest = args
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw Usage("\(flag) needs a value") }
            switch flag {
            case "--path": path = value
            case "--interval":
                guard let v = Double(value), v > 0 else { throw Usage("--interval must be a positive number of seconds") }
                interval = v
            case "--seconds":
                guard let v = Double(value), v > 0 else { throw Usage("--seconds must be a positive number") }
                seconds = v
            default: throw Usage("unknown argument \(flag)")
            }
        }
    }
}

struct Usage: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) {
        description = message + "\nusage: metrics-daemon-example [--path DIR] [--interval SECONDS] [--seconds SECONDS]"
    }
}

/// Some work to measure: a checksum over a buffer of random size, then a short sleep.
func doWork(_ round: Int) async throws -> Int {
    let size = Int.random(in: 1_000...50_000)
    var sum = 0
    for i in 0..<size { sum = sum &+ (i &* 31) ^ round }
    try await Task.sleep(for: .milliseconds(Int.random(in: 1...4)))
    return sum
}

func main() async throws {
    let args = try Arguments(CommandLine.arguments.dropFirst())
    let path = args.path ?? NSTemporaryDirectory() + "metrics-daemon-\(getpid())"
    let db = try DB.open(directory: path)
    defer { try? db.close() }

    var options = TSDBMetricsFactory.Options()
    options.interval = .milliseconds(Int64(args.interval * 1000))
    options.constantLabels = [("job", "metrics-daemon"), ("instance", ProcessInfo.processInfo.hostName)]
    let metrics = try TSDBMetricsFactory(db: db, options: options)
    MetricsSystem.bootstrap(metrics)
    let sampler = Task { await metrics.run() }

    // The daemon's own instrumentation, through the ordinary swift-metrics API.
    let loops = Counter(label: "demo_loops", dimensions: [("kind", "checksum")])
    let duration = Timer(label: "demo_work_duration_seconds")
    let bytes = FloatingPointCounter(label: "demo_processed_kilobytes")
    let inFlight = Meter(label: "demo_in_flight")

    let clock = ContinuousClock()
    let end = clock.now + .milliseconds(Int64(args.seconds * 1000))
    var round = 0
    while clock.now < end {
        inFlight.increment()
        let start = clock.now
        let checksum = try await doWork(round)
        let (s, atto) = (clock.now - start).components
        duration.recordNanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
        inFlight.decrement()
        loops.increment()
        bytes.increment(by: Double(checksum & 0xff) / 100)
        round += 1
    }
    sampler.cancel()
    await sampler.value
    // One last sample, so the queries see the final counts.
    let now = db.options.clock()
    try metrics.sample(at: max(now, (db.headTimeRange?.upperBound ?? now) + 1))

    guard let at = db.headTimeRange?.upperBound else { throw Usage("nothing was sampled") }
    let window = "\(max(1, Int(args.seconds.rounded(.up))))s"  // the span worked
    print("directory = \(path)")
    print("rounds = \(round)")
    print("series = \(db.headSeriesCount)")
    let engine = PromQLEngine()
    for query in [
        "sum(rate(demo_loops_total[\(window)]))",
        "histogram_quantile(0.9, sum by (le) (rate(demo_work_duration_seconds_bucket[\(window)])))",
        "sum(demo_work_duration_seconds_count)",
        "sum(rate(demo_processed_kilobytes_total[\(window)]))",
    ] {
        switch try engine.instantQuery(db, query, at: at) {
        case .vector(let v) where !v.isEmpty: print("\(query) = \(v[0].value)")
        case .scalar(_, let value): print("\(query) = \(value)")
        default: print("\(query) = (no result)")
        }
    }
}

do {
    try await main()
} catch {
    FileHandle.standardError.write(Data("metrics-daemon-example: \(error)\n".utf8))
    exit(1)
}
