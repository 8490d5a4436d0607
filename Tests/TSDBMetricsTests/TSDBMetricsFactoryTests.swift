import CoreMetrics
import PromQL
import Synchronization
import Testing
import TSDBTestSupport
import TSDB
import TSDBMetrics

@Suite(.blocking) struct TSDBMetricsFactoryTests {
    @Test func concurrentIncrementsAreCountedExactly() async throws {
        let f = try MetricsFixture()
        let tasks = 8
        let perTask = 20_000
        let factory = f.factory
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<tasks {
                group.addTask {
                    // Each task makes its own handles: the factory must hand back the same handler.
                    let requests = Counter(label: "requests", dimensions: [("path", "/a")], factory: factory)
                    let bytes = FloatingPointCounter(label: "bytes_total", factory: factory)
                    let other = Counter(label: "requests", dimensions: [("path", "/t\(t % 2)")], factory: factory)
                    for _ in 0..<perTask {
                        requests.increment()
                        bytes.increment(by: 0.25)
                        other.increment(by: 2)
                    }
                }
            }
        }
        let report = try f.factory.sample(at: 1_000)
        #expect(report.rejected.isEmpty)
        #expect(report.appended == 4)
        #expect(try f.vector("requests_total", at: 1_000) == [
            #"{__name__="requests_total", path="/a"}"#: Double(tasks * perTask),
            #"{__name__="requests_total", path="/t0"}"#: Double(tasks / 2 * perTask * 2),
            #"{__name__="requests_total", path="/t1"}"#: Double(tasks / 2 * perTask * 2),
        ])
        // An existing `_total` suffix is not doubled.
        #expect(try f.value("bytes_total", at: 1_000) == Double(tasks * perTask) * 0.25)
        #expect(try f.vector("bytes_total_total", at: 1_000).isEmpty)
    }

    @Test func gaugesMetersAndPlainRecordersStoreTheirLastValue() throws {
        let f = try MetricsFixture()
        let meter = Meter(label: "queue_depth", factory: f.factory)
        meter.set(10)
        meter.increment(by: 2.5)
        meter.decrement(by: 0.5)
        let recorder = Recorder(label: "temperature", dimensions: [("room", "lab")], aggregate: false, factory: f.factory)
        recorder.record(21.5)
        recorder.record(19)
        try f.factory.sample(at: 5_000)
        #expect(try f.value("queue_depth", at: 5_000) == 12)
        #expect(try f.vector("temperature", at: 5_000) == [#"{__name__="temperature", room="lab"}"#: 19])
        meter.set(-3)
        try f.factory.sample(at: 6_000)
        #expect(try f.value("queue_depth", at: 6_000) == -3)
    }

    @Test func timersAreHistogramsInSeconds() throws {
        let f = try MetricsFixture()
        let timer = Timer(label: "job_duration", dimensions: [("kind", "batch")], factory: f.factory)
        // 1 ms, 7 ms, 30 ms, 0.3 s, 2 s, 20 s (beyond the last bound), and exactly 10 ms.
        for ns: Int64 in [1_000_000, 7_000_000, 30_000_000, 300_000_000, 2_000_000_000, 20_000_000_000, 10_000_000] {
            timer.recordNanoseconds(ns)
        }
        try f.factory.sample(at: 1_000)
        let buckets = try f.vector("job_duration_bucket", at: 1_000)
        func bucket(_ le: String) -> Double? { buckets[#"{__name__="job_duration_bucket", kind="batch", le="\#(le)"}"#] }
        let expected: [(String, Double)] = [
            ("0.005", 1), ("0.01", 3), ("0.025", 3), ("0.05", 4), ("0.1", 4), ("0.25", 4), ("0.5", 5),
            ("1", 5), ("2.5", 6), ("5", 6), ("10", 6), ("+Inf", 7),
        ]
        #expect(buckets.count == expected.count)
        for (le, count) in expected { #expect(bucket(le) == count, "le=\(le)") }
        #expect(try f.value("job_duration_count", at: 1_000) == 7)
        let sum = try #require(try f.value("job_duration_sum", at: 1_000))
        #expect(sum == 22.348)
        // The quantile of the cumulative buckets, as Prometheus interpolates it: the 3.5th
        // of 7 observations is in (0.025, 0.05], half way.
        let median = try #require(try f.value("histogram_quantile(0.5, job_duration_bucket)", at: 1_000))
        #expect(abs(median - 0.0375) < 1e-12)
    }

    @Test func bucketsAreConfigurablePerName() throws {
        let f = try MetricsFixture { o in
            o.timerBuckets["fast.op"] = [.microseconds(100), .milliseconds(1), .microseconds(100)]
            o.defaultRecorderBuckets = [1, 10, 100]
            o.recorderBuckets["payload_bytes"] = [512, 1024]
        }
        let timer = Timer(label: "fast.op", factory: f.factory)
        timer.recordNanoseconds(50_000)
        timer.recordNanoseconds(500_000)
        timer.recordNanoseconds(5_000_000)
        let sizes = Recorder(label: "payload_bytes", factory: f.factory)
        for v in [100, 600, 2_000] { sizes.record(v) }
        let other = Recorder(label: "batch_size", factory: f.factory)
        other.record(5)
        other.record(Double.nan)  // counted, in +Inf only; the sum becomes NaN as in client_golang
        try f.factory.sample(at: 1_000)
        #expect(try f.vector("fast_op_bucket", at: 1_000) == [
            #"{__name__="fast_op_bucket", le="0.0001"}"#: 1,
            #"{__name__="fast_op_bucket", le="0.001"}"#: 2,
            #"{__name__="fast_op_bucket", le="+Inf"}"#: 3,
        ])
        #expect(try f.value("fast_op_sum", at: 1_000) == 0.00555)
        #expect(try f.vector("payload_bytes_bucket", at: 1_000) == [
            #"{__name__="payload_bytes_bucket", le="512"}"#: 1,
            #"{__name__="payload_bytes_bucket", le="1024"}"#: 2,
            #"{__name__="payload_bytes_bucket", le="+Inf"}"#: 3,
        ])
        #expect(try f.value("payload_bytes_sum", at: 1_000) == 2_700)
        #expect(try f.vector("batch_size_bucket", at: 1_000) == [
            #"{__name__="batch_size_bucket", le="1"}"#: 0,
            #"{__name__="batch_size_bucket", le="10"}"#: 1,
            #"{__name__="batch_size_bucket", le="100"}"#: 1,
            #"{__name__="batch_size_bucket", le="+Inf"}"#: 2,
        ])
        #expect(try f.value("batch_size_count", at: 1_000) == 2)
    }

    @Test func constantLabelsWinAndClashingDimensionsAreExported() throws {
        let f = try MetricsFixture { o in o.constantLabels = [("job", "daemon"), ("instance", "host:9")] }
        Counter(label: "jobs_done", dimensions: [("job", "resize"), ("queue", "")], factory: f.factory).increment()
        Timer(label: "t", dimensions: [("le", "x")], factory: f.factory).recordNanoseconds(1)
        try f.factory.sample(at: 1_000)
        // An empty value is no label at all, as Prometheus stores it.
        #expect(try f.vector("jobs_done_total", at: 1_000) == [
            #"{__name__="jobs_done_total", exported_job="resize", instance="host:9", job="daemon"}"#: 1,
        ])
        #expect(try f.value(#"t_bucket{le="0.005"}"#, at: 1_000) == 1)
        #expect(try f.vector(#"t_count"#, at: 1_000) == [
            #"{__name__="t_count", exported_le="x", instance="host:9", job="daemon"}"#: 1,
        ])
    }

    @Test func destroyedMetricsGetStalenessMarkersThenVanish() throws {
        let f = try MetricsFixture()
        let counter = Counter(label: "conns", factory: f.factory)
        let timer = Timer(label: "lat", factory: f.factory)
        let kept = Meter(label: "kept", factory: f.factory)
        counter.increment(by: 3)
        timer.recordMilliseconds(20)
        kept.set(1)
        try f.factory.sample(at: 10_000)
        #expect(f.factory.metricCount == 3)
        counter.destroy()
        timer.destroy()
        #expect(f.factory.metricCount == 1)
        let report = try f.factory.sample(at: 20_000)
        #expect(report.staleMarkers == 1 + 14)  // the counter; 12 buckets, _sum and _count
        let raw = try f.raw()
        let conns = try #require(raw[try Labels(["__name__": "conns_total"])])
        #expect(conns.count == 2)
        #expect(conns[0] == Sample(timestamp: 10_000, value: 3))
        #expect(conns[1].timestamp == 20_000 && isStaleMarker(conns[1].value))
        for (labels, samples) in raw where labels.metricName?.hasPrefix("lat_") == true {
            #expect(samples.count == 2 && isStaleMarker(samples[1].value), "\(labels)")
        }
        // PromQL: present before the marker, gone from it on (not 5 minutes of lookback).
        #expect(try f.value("conns_total", at: 19_999) == 3)
        #expect(try f.value("conns_total", at: 20_000) == nil)
        #expect(try f.vector("lat_count", at: 25_000).isEmpty)
        #expect(try f.value("kept", at: 25_000) == 1)
        // Dropped: the next sample writes nothing more for them.
        let next = try f.factory.sample(at: 30_000)
        #expect(next.appended == 1 && next.staleMarkers == 0)
        #expect(try f.raw()[try Labels(["__name__": "conns_total"])]?.count == 2)
    }

    @Test func aMetricMadeAgainBeforeTheSampleIsNotMarkedStale() throws {
        let f = try MetricsFixture()
        let first = Counter(label: "restarts", factory: f.factory)
        first.increment()
        try f.factory.sample(at: 1_000)
        first.destroy()
        let second = Counter(label: "restarts", factory: f.factory)
        second.increment(by: 5)
        let report = try f.factory.sample(at: 2_000)
        #expect(report.staleMarkers == 0 && report.rejected.isEmpty)
        #expect(try f.raw()[try Labels(["__name__": "restarts_total"])] == [
            Sample(timestamp: 1_000, value: 1), Sample(timestamp: 2_000, value: 5),
        ])
    }

    @Test func rateOverSamplesAtControlledTimes() throws {
        let f = try MetricsFixture { o in o.constantLabels = [("job", "app")] }
        let counter = Counter(label: "http_requests", dimensions: [("code", "200")], factory: f.factory)
        let timer = Timer(label: "http_request_duration_seconds", factory: f.factory)
        // 6 requests every 15 s, each taking 40 ms, sampled at 0, 15, ..., 120 s.
        for scrape in 0...8 {
            if scrape > 0 {
                for _ in 0..<6 {
                    counter.increment()
                    timer.recordMilliseconds(40)
                }
            }
            let report = try f.factory.sample(at: Int64(scrape) * 15_000)
            #expect(report.rejected.isEmpty)
        }
        let rate = try #require(try f.value("rate(http_requests_total[1m])", at: 120_000))
        #expect(abs(rate - 0.4) < 1e-12)
        let increase = try #require(try f.value("increase(http_requests_total[2m])", at: 120_000))
        #expect(abs(increase - 48) < 1e-9)
        let p90 = try #require(try f.value(
            "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))", at: 120_000))
        // All observations are in (0.025, 0.05]: 0.9 of the way through it.
        #expect(abs(p90 - (0.025 + 0.9 * 0.025)) < 1e-12)
        let mean = try #require(try f.value(
            "rate(http_request_duration_seconds_sum[1m]) / rate(http_request_duration_seconds_count[1m])", at: 120_000))
        #expect(abs(mean - 0.04) < 1e-12)
    }

    @Test func aTimestampGoingBackIsReportedNotThrown() throws {
        let f = try MetricsFixture()
        let counter = Counter(label: "c", factory: f.factory)
        counter.increment()
        try f.factory.sample(at: 10_000)
        counter.increment()
        let report = try f.factory.sample(at: 5_000)
        #expect(report.appended == 0)
        #expect(report.rejected.count == 1)
        #expect(report.rejected.first?.error.code == .outOfOrderSample)
        #expect(try f.factory.sample(at: 11_000).appended == 1)
        #expect(try f.value("c_total", at: 11_000) == 2)
    }

    @Test func aNameUsedByAnotherTypeIsNotRecordedAndDoesNotTrap() throws {
        let f = try MetricsFixture()
        let counter = Counter(label: "dual", factory: f.factory)
        let meter = Meter(label: "dual", factory: f.factory)
        counter.increment()
        meter.set(7)  // works, but goes nowhere
        let nameless = Counter(label: "", factory: f.factory)
        nameless.increment()
        #expect(f.factory.metricCount == 1)
        try f.factory.sample(at: 1_000)
        #expect(try f.raw().keys.map(\.description) == [#"{__name__="dual_total"}"#])
    }

    @Test func aClosedDatabaseThrows() throws {
        let f = try MetricsFixture()
        let c = Counter(label: "gone", factory: f.factory)
        c.increment()
        try f.factory.sample(at: 1_000)
        c.destroy()
        try f.db.close()
        #expect(throws: TSDBError.self) { try f.factory.sample(at: 2_000) }
    }

    @Test func runSamplesEveryIntervalUntilCancelled() async throws {
        let ticks = Atomic<Int64>(0)
        let f = try MetricsFixture { o in
            o.interval = .milliseconds(20)
            o.clock = { ticks.add(1, ordering: .relaxed).newValue * 1_000 }
        }
        let counter = Counter(label: "loops", factory: f.factory)
        counter.increment()
        let factory = f.factory
        let task = Task { await factory.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while ticks.load(ordering: .relaxed) < 5, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        task.cancel()
        await task.value
        let after = ticks.load(ordering: .relaxed)
        #expect(after >= 5)
        let samples = try #require(try f.raw()[try Labels(["__name__": "loops_total"])])
        #expect(samples.map(\.timestamp) == (1...after).map { $0 * 1_000 })
        try await Task.sleep(for: .milliseconds(60))
        #expect(ticks.load(ordering: .relaxed) == after, "run() went on after cancellation")
    }

    @Test func aNonPositiveIntervalIsRefused() throws {
        #expect(throws: TSDBError.self) {
            _ = try MetricsFixture { o in o.interval = .zero }
        }
    }
}
