import Foundation
import HummingbirdBcrypt
import MetricsTestKit
import Synchronization
import Testing
import TSDB
import TSDBTestSupport
@testable import RemoteWrite

/// A recent timestamp, whole seconds, so receivers with a head (Prometheus) accept it.
private func recentStart(minutesAgo: Int64 = 30) -> Int64 {
    (Int64(Date().timeIntervalSince1970) - minutesAgo * 60) * 1000
}

private func openDB(_ dir: String, configure: (inout Options) -> Void = { _ in }) throws -> DB {
    var options = Options()
    options.compactionEnabled = false
    options.logger.logLevel = .critical
    configure(&options)
    return try DB.open(directory: dir, options: options)
}

/// Runs `sender` in a task; returns the task to cancel.
private func start(_ sender: RemoteWriter) -> Task<Void, any Error> {
    Task { try await sender.run() }
}

@Suite(.blocking, .serialized) struct RemoteWriterTests {
    @Test(.enabled(if: PrometheusReceiver.isAvailable, "prometheus is not installed"))
    func everySampleReachesARealPrometheus() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let prom = try PrometheusReceiver.start(work: work.path)
        defer { prom.stop() }
        let db = try openDB(work.path + "/db")
        defer { try? db.close() }
        let t0 = recentStart()
        let expected = try appendSamples(db, seriesCount: 20, samplesPerSeries: 300, start: t0)
        let endpoint = RemoteWriteEndpoint(url: prom.writeURL, name: "prom", queue: fastQueue { $0.minShards = 3; $0.maxShards = 3 })
        let sender = try RemoteWriter(db: db, directory: work.path + "/db", configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task = start(sender)
        let done = await eventually(60) { (sender.stats(endpoint: "prom")?.samplesSent ?? 0) >= expected.count }
        task.cancel()
        try await task.value
        #expect(done)
        let stats = try #require(sender.stats(endpoint: "prom"))
        #expect(stats.samplesSent == expected.count)
        #expect(stats.samplesFailed == 0 && stats.samplesDropped == 0)
        #expect(stats.shards == 3)
        let got = try prom.rawSamples(#"{__name__="rw_test"}"#, range: "1h", time: t0 + 600_000)
        #expect(got.count == expected.count)
        #expect(got.sorted() == expected.sorted())
        // The position saved is the WAL's end: everything was acknowledged.
        let saved = try #require(try RemoteWriter.savedPosition(directory: work.path + "/db", endpoint: "prom"))
        let size = try FileManager.default.attributesOfItem(atPath: work.path + "/db/wal/00000000")[.size] as? Int
        #expect(saved == WALPosition(segment: 0, offset: size ?? -1))
    }

    /// To a Prometheus behind TLS (a self-signed certificate trusted through `caFile`) and
    /// basic auth: every sample arrives; wrong credentials are a 401, which drops the batch.
    @Test(.enabled(if: PrometheusReceiver.isAvailable, "prometheus is not installed"))
    func reachesPrometheusOverTLSWithBasicAuth() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        try Command.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", work.path + "/server.key", "-out", work.path + "/server.crt",
        ])
        let hash = Bcrypt.hash("s3cret", cost: 4)
        let webConfig = """
        tls_server_config:
          cert_file: \(work.path)/server.crt
          key_file: \(work.path)/server.key
        basic_auth_users:
          alice: \(hash)

        """
        let prom = try PrometheusReceiver.start(work: work.path, webConfig: webConfig, scheme: "https",
                                                curlOptions: ["--cacert", work.path + "/server.crt", "-u", "alice:s3cret"])
        defer { prom.stop() }
        let db = try openDB(work.path + "/db")
        defer { try? db.close() }
        let t0 = recentStart()
        let expected = try appendSamples(db, seriesCount: 5, samplesPerSeries: 200, start: t0)
        let tls = RemoteWriteEndpoint.TLS(caFile: work.path + "/server.crt")
        let good = RemoteWriteEndpoint(url: prom.writeURL, name: "secure", authorization: .basic(username: "alice", password: "s3cret"),
                                       tls: tls, queue: fastQueue())
        let wrong = RemoteWriteEndpoint(url: prom.writeURL, name: "wrong", authorization: .basic(username: "alice", password: "nope"),
                                        tls: tls, queue: fastQueue())
        let sender = try RemoteWriter(db: db, directory: work.path + "/db", configuration: .init(endpoints: [good, wrong]),
                                      logger: quietLogger())
        let task = start(sender)
        let done = await eventually(60) {
            (sender.stats(endpoint: "secure")?.samplesSent ?? 0) >= expected.count
                && (sender.stats(endpoint: "wrong")?.samplesFailed ?? 0) >= expected.count
        }
        task.cancel()
        try await task.value
        #expect(done)
        let secure = try #require(sender.stats(endpoint: "secure"))
        #expect(secure.samplesSent == expected.count && secure.samplesFailed == 0)
        let denied = try #require(sender.stats(endpoint: "wrong"))
        #expect(denied.samplesSent == 0 && denied.samplesFailed == expected.count)
        let got = try prom.rawSamples(#"{__name__="rw_test"}"#, range: "1h", time: t0 + 600_000)
        #expect(got.sorted() == expected.sorted())
    }

    @Test func retriesOn503And429HonouringRetryAfter() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let receiver = try await ScriptedReceiver.start()
        let db = try openDB(work.path + "/db")
        defer { try? db.close() }
        let expected = try appendSamples(db, seriesCount: 5, samplesPerSeries: 200, start: recentStart())
        receiver.script([.init(status: 503), .init(status: 503), .init(status: 429, retryAfter: "1"), .init(status: 500), .init(status: 204)])
        let endpoint = RemoteWriteEndpoint(url: receiver.url, name: "scripted", headers: ["X-Scope-OrgID": "tenant-1"],
                                           authorization: .bearer(token: "s3cret"),
                                           queue: fastQueue { $0.minShards = 1; $0.maxShards = 1; $0.maxSamplesPerSend = 100; $0.batchSendDeadline = 1 })
        let sender = try RemoteWriter(db: db, directory: work.path + "/db", configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task = start(sender)
        let done = await eventually(30) { receiver.accepted.count >= expected.count }
        task.cancel()
        try await task.value
        await receiver.stop()
        #expect(done)
        #expect(receiver.accepted.sorted() == expected.sorted())
        // One shard: each series arrives in order, each sample once.
        var last: [String: Int64] = [:]
        for s in receiver.accepted {
            #expect(s.timestamp > last[s.series, default: .min])
            last[s.series] = s.timestamp
        }
        let stats = try #require(sender.stats(endpoint: "scripted"))
        #expect(stats.retries == 4)
        #expect(stats.samplesRetried == 400)
        #expect(stats.samplesAttempted == expected.count + 400)
        // Retry-After: 1 made the sender wait a second after the 429.
        let times = receiver.requestTimes
        #expect(times.count >= 5)
        if times.count >= 5 { #expect(times[3] - times[2] >= .milliseconds(950)) }
        // Backoff waits were short (min 10 ms, doubling), far below a second.
        if times.count >= 5 { #expect(times[1] - times[0] < .milliseconds(900)) }
        let h = receiver.lastHeaders
        #expect(h["content-encoding"] == "snappy")
        #expect(h["content-type"] == "application/x-protobuf")
        #expect(h["x-prometheus-remote-write-version"] == "0.1.0")
        #expect(h["user-agent"]?.isEmpty == false)
        #expect(h["authorization"] == "Bearer s3cret")
        #expect(h["x-scope-orgid"] == "tenant-1")
    }

    /// The receiver is down (connections refused) while the DB keeps taking samples, then
    /// comes back on its port: the backlog arrives, every sample exactly once. Down for
    /// `TSDB_RW_DOWN_SECONDS` (default 3; the issue's minute is `TSDB_RW_DOWN_SECONDS=60`,
    /// which also goes past a request's 60 s deadline, so our own retries take over).
    @Test(.timeLimit(.minutes(5)))
    func aReceiverDownForAWhileGetsTheBacklog() async throws {
        let downSeconds = Double(ProcessInfo.processInfo.environment["TSDB_RW_DOWN_SECONDS"] ?? "") ?? 3
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let first = try await ScriptedReceiver.start()
        let port = first.port
        let db = try openDB(work.path + "/db")
        defer { try? db.close() }
        let t0 = recentStart()
        var expected = try appendSamples(db, seriesCount: 5, samplesPerSeries: 100, start: t0)
        let endpoint = RemoteWriteEndpoint(url: first.url, name: "flaky", queue: fastQueue { $0.maxSamplesPerSend = 50 })
        let sender = try RemoteWriter(db: db, directory: work.path + "/db", configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task = start(sender)
        #expect(await eventually(30) { first.accepted.count >= expected.count })
        await first.stop()
        // Down: ingest goes on, the sender retries on connection errors.
        let downUntil = ContinuousClock.now + .seconds(downSeconds)
        var batch = 0
        while ContinuousClock.now < downUntil {
            // One second of samples per batch: a long outage stays in the past.
            expected += try appendSamples(db, seriesCount: 5, samplesPerSeries: 10, start: t0 + 100_000 + Int64(batch) * 1000, step: 100)
            batch += 1
            try await Task.sleep(for: .milliseconds(100))
        }
        let second = try await ScriptedReceiver.start(port: port)
        let done = await eventually(60) { first.accepted.count + second.accepted.count >= expected.count }
        task.cancel()
        try await task.value
        await second.stop()
        #expect(done)
        #expect((first.accepted + second.accepted).sorted() == expected.sorted())
        // What was appended while the receiver was down reached the one that came back.
        // (async-http-client keeps retrying the connection within a request's 60 s
        // deadline, so a short outage may show no retry of ours at all.)
        #expect(second.accepted.count >= batch * 50)
        let stats = try #require(sender.stats(endpoint: "flaky"))
        #expect(stats.samplesFailed == 0 && stats.samplesDropped == 0)
    }

    @Test func a400DropsTheBatchAndCountsIt() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let receiver = try await ScriptedReceiver.start()
        receiver.refuse(names: ["rw_bad"])
        let db = try openDB(work.path + "/db")
        defer { try? db.close() }
        let t0 = recentStart()
        let bad = try appendSamples(db, name: "rw_bad", seriesCount: 3, samplesPerSeries: 50, start: t0)
        let endpoint = RemoteWriteEndpoint(url: receiver.url, name: "refusing", queue: fastQueue { $0.minShards = 1; $0.maxShards = 1 })
        let sender = try RemoteWriter(db: db, directory: work.path + "/db", configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task = start(sender)
        let failed = await eventually(30) { (sender.stats(endpoint: "refusing")?.samplesFailed ?? 0) >= bad.count }
        let good = try appendSamples(db, name: "rw_good", seriesCount: 3, samplesPerSeries: 50, start: t0 + 100_000)
        let arrived = await eventually(30) { receiver.accepted.count >= good.count }
        task.cancel()
        try await task.value
        await receiver.stop()
        #expect(failed && arrived)
        let stats = try #require(sender.stats(endpoint: "refusing"))
        #expect(stats.samplesFailed == bad.count)
        #expect(stats.retries == 0)
        #expect(receiver.accepted.sorted() == good.sorted())
        // Refused samples are not sent again: the position moved past them.
        let saved = try #require(try RemoteWriter.savedPosition(directory: work.path + "/db", endpoint: "refusing"))
        let size = try FileManager.default.attributesOfItem(atPath: work.path + "/db/wal/00000000")[.size] as? Int
        #expect(saved.offset == size)
    }

    @Test func aFilterKeepsAndDropsSeries() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let receiver = try await ScriptedReceiver.start()
        let db = try openDB(work.path + "/db")
        defer { try? db.close() }
        let t0 = recentStart()
        let all = try appendSamples(db, seriesCount: 4, samplesPerSeries: 20, start: t0)
        let filter = LabelFilter(keep: [try Matcher(.equal, "job", "rw")], drop: [[try Matcher(.regexMatch, "instance", "host-[02]")]])
        let endpoint = RemoteWriteEndpoint(url: receiver.url, name: "filtered", queue: fastQueue(), filter: filter)
        let sender = try RemoteWriter(db: db, directory: work.path + "/db", configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task = start(sender)
        let kept = all.filter { $0.series.contains("host-1") || $0.series.contains("host-3") }
        let done = await eventually(30) { (sender.stats(endpoint: "filtered")?.samplesSent ?? 0) >= kept.count }
        task.cancel()
        try await task.value
        await receiver.stop()
        #expect(done)
        #expect(receiver.accepted.sorted() == kept.sorted())
        #expect(sender.stats(endpoint: "filtered")?.samplesDropped == all.count - kept.count)
    }

    @Test func aRestartResumesAtTheAcknowledgedPosition() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let receiver = try await ScriptedReceiver.start()
        let dbPath = work.path + "/db"
        let db = try openDB(dbPath)
        defer { try? db.close() }
        // 10 series per commit: records of 10 samples; batches of 100 = 10 records.
        let expected = try appendSamples(db, seriesCount: 10, samplesPerSeries: 200, start: recentStart())
        receiver.script(Array(repeating: .init(status: 204), count: 3) + Array(repeating: .init(status: 503), count: 100_000))
        let queue = fastQueue { $0.minShards = 1; $0.maxShards = 1; $0.maxSamplesPerSend = 100; $0.flushDeadline = 0.3; $0.minBackoff = 0.05
            $0.batchSendDeadline = 1  // full batches of 10 whole records each
        }
        let endpoint = RemoteWriteEndpoint(url: receiver.url, name: "restart", queue: queue)
        let first = try RemoteWriter(db: db, directory: dbPath, configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task1 = start(first)
        let stuck = await eventually(30) { receiver.accepted.count == 300 && (first.stats(endpoint: "restart")?.retries ?? 0) >= 2 }
        task1.cancel()
        try await task1.value
        #expect(stuck)
        let saved = try #require(try RemoteWriter.savedPosition(directory: dbPath, endpoint: "restart"))
        #expect(saved == first.acknowledgedPosition(endpoint: "restart"))
        #expect(saved.segment == 0 && saved.offset > 0)
        let firstRun = receiver.accepted
        #expect(firstRun.count == 300)

        // The receiver recovers; a new sender resumes where the first one was acknowledged.
        receiver.script([])
        let second = try RemoteWriter(db: db, directory: dbPath, configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task2 = start(second)
        let done = await eventually(30) { receiver.accepted.count >= expected.count }
        task2.cancel()
        try await task2.value
        await receiver.stop()
        #expect(done)
        // Nothing acknowledged was sent again and nothing is missing.
        #expect(receiver.accepted.count == expected.count)
        #expect(receiver.accepted.sorted() == expected.sorted())
        #expect(second.stats(endpoint: "restart")?.samplesSent == expected.count - 300)
        let end = try #require(try RemoteWriter.savedPosition(directory: dbPath, endpoint: "restart"))
        #expect(end > saved)
    }

    @Test func followsSegmentCutsAndCheckpoints() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let receiver = try await ScriptedReceiver.start()
        let dbPath = work.path + "/db"
        let db = try openDB(dbPath) { o in
            o.walSegmentSize = 32 * 1024
            o.walCompression = .none
            o.blockRange = 60_000
        }
        defer { try? db.close() }
        let t0 = recentStart(minutesAgo: 40)
        // Phase 1, before any sender: the series records go to segment 0, which a
        // truncation folds into a checkpoint and deletes.
        let phase1 = try appendSamples(db, seriesCount: 50, samplesPerSeries: 600, start: t0)
        try db.compact()
        let wal = dbPath + "/wal"
        let names = try FileManager.default.contentsOfDirectory(atPath: wal)
        #expect(names.contains { $0.hasPrefix("checkpoint.") })
        #expect(!names.contains("00000000"))

        let endpoint = RemoteWriteEndpoint(url: receiver.url, name: "cuts", queue: fastQueue { $0.maxSamplesPerSend = 500 })
        let sender = try RemoteWriter(db: db, directory: dbPath, configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task = start(sender)
        // Phase 2, while it runs: more segments are cut and the WAL truncated again.
        var phase2: [ReceivedSample] = []
        for round in 0..<4 {
            phase2 += try appendSamples(db, seriesCount: 50, samplesPerSeries: 150, start: t0 + 600_000 + Int64(round) * 150_000)
            try db.compact()
        }
        let done = await eventually(60) { Set(receiver.accepted).isSuperset(of: phase2) }
        task.cancel()
        try await task.value
        await receiver.stop()
        #expect(done)
        let stats = try #require(sender.stats(endpoint: "cuts"))
        // Samples after the first checkpoint found their series there: none unknown.
        #expect(stats.samplesDropped == 0)
        #expect(stats.segmentsLost == 0)
        let got = Set(receiver.accepted)
        #expect(got.isSubset(of: Set(phase1 + phase2)))
        #expect(got.intersection(Set(phase1)).count > 0, "phase 1 samples left in the WAL were sent, with labels from the checkpoint")
        #expect(receiver.accepted.count == got.count, "nothing was sent twice")
        let position = try #require(sender.acknowledgedPosition(endpoint: "cuts"))
        #expect(position.segment > 1)
    }

    @Test func fallingBehindTheCapSkipsSegmentsAndCountsTheirSamples() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let receiver = try await ScriptedReceiver.start()
        let dbPath = work.path + "/db"
        let db = try openDB(dbPath) { o in
            o.walSegmentSize = 32 * 1024
            o.walCompression = .none
        }
        defer { try? db.close() }
        let all = try appendSamples(db, seriesCount: 50, samplesPerSeries: 400, start: recentStart())
        let segments = try FileManager.default.contentsOfDirectory(atPath: dbPath + "/wal").filter { $0.count == 8 }.count
        #expect(segments > 5)
        let endpoint = RemoteWriteEndpoint(url: receiver.url, name: "behind", queue: fastQueue { $0.maxRetainedSegments = 2 })
        let sender = try RemoteWriter(db: db, directory: dbPath, configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task = start(sender)
        let done = await eventually(30) {
            let s = sender.stats(endpoint: "behind")
            return (s?.samplesSent ?? 0) + (s?.samplesDropped ?? 0) >= all.count
        }
        task.cancel()
        try await task.value
        await receiver.stop()
        #expect(done)
        let stats = try #require(sender.stats(endpoint: "behind"))
        #expect(stats.samplesSent + stats.samplesDropped == all.count)
        #expect(stats.samplesDropped > 0 && stats.samplesSent > 0)
        // What was skipped is the oldest part: every sample sent is newer than every one dropped.
        let sent = Set(receiver.accepted)
        #expect(sent.isSubset(of: Set(all)))
        let dropped = all.filter { !sent.contains($0) }
        #expect(dropped.count == stats.samplesDropped)
        #expect((dropped.map(\.timestamp).max() ?? .min) <= (receiver.accepted.map(\.timestamp).min() ?? .max))
    }

    @Test func selfMetricsAreNamedAsPrometheus() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let receiver = try await ScriptedReceiver.start()
        let db = try openDB(work.path + "/db")
        defer { try? db.close() }
        let t0 = recentStart()
        let expected = try appendSamples(db, seriesCount: 4, samplesPerSeries: 50, start: t0)
        receiver.script([.init(status: 502)])
        let metrics = TestMetrics()
        let endpoint = RemoteWriteEndpoint(url: receiver.url, name: "metered",
                                           queue: fastQueue { $0.maxShards = 1; $0.maxSamplesPerSend = 200; $0.batchSendDeadline = 1 })
        let sender = try RemoteWriter(db: db, directory: work.path + "/db", configuration: .init(endpoints: [endpoint]),
                                      logger: quietLogger(), metricsFactory: metrics)
        let task = start(sender)
        let done = await eventually(30) { receiver.accepted.count >= expected.count }
        task.cancel()
        try await task.value
        await receiver.stop()
        #expect(done)
        let dims = [("remote_name", "metered"), ("url", receiver.url)]
        #expect(try metrics.expectCounter("prometheus_remote_storage_samples_total", dims).totalValue == 400)
        #expect(try metrics.expectCounter("prometheus_remote_storage_samples_retried_total", dims).totalValue == 200)
        #expect(try metrics.expectCounter("prometheus_remote_storage_samples_failed_total", dims).totalValue == 0)
        #expect(try metrics.expectCounter("prometheus_remote_storage_samples_dropped_total", dims).totalValue == 0)
        #expect(try metrics.expectGauge("prometheus_remote_storage_shards", dims).lastValue == 1)
        #expect(try metrics.expectGauge("prometheus_remote_storage_samples_pending", dims).lastValue == 0)
        let newest = Double(t0 + 49_000) / 1000
        #expect(try metrics.expectGauge("prometheus_remote_storage_highest_timestamp_in_seconds", dims).lastValue == newest)
        #expect(try metrics.expectGauge("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", dims).lastValue == newest)
    }

    @Test func shardsScaleWithTheBacklogAndKeepEverySeriesInOrder() async throws {
        let work = try TemporaryDirectory()
        defer { work.remove() }
        let receiver = try await ScriptedReceiver.start()
        receiver.responseDelay = .milliseconds(30)
        let db = try openDB(work.path + "/db")
        defer { try? db.close() }
        let expected = try appendSamples(db, seriesCount: 20, samplesPerSeries: 500, start: recentStart(minutesAgo: 50), step: 5000)
        let endpoint = RemoteWriteEndpoint(url: receiver.url, name: "scaling", queue: fastQueue {
            $0.minShards = 1; $0.maxShards = 6; $0.maxSamplesPerSend = 100; $0.capacity = 300; $0.reshardInterval = 0.3
        })
        let sender = try RemoteWriter(db: db, directory: work.path + "/db", configuration: .init(endpoints: [endpoint]), logger: quietLogger())
        let task = start(sender)
        let maxShards = Mutex(0)
        let done = await eventually(60) {
            let s = sender.stats(endpoint: "scaling")
            maxShards.withLock { $0 = Swift.max($0, s?.shards ?? 0) }
            return (s?.samplesSent ?? 0) >= expected.count
        }
        task.cancel()
        try await task.value
        await receiver.stop()
        #expect(done)
        #expect(maxShards.withLock { $0 } > 1, "the backlog raised the number of shards")
        #expect(receiver.accepted.count == expected.count)
        #expect(receiver.accepted.sorted() == expected.sorted())
        var last: [String: Int64] = [:]
        for s in receiver.accepted {
            #expect(s.timestamp > last[s.series, default: .min], "order kept within \(s.series)")
            last[s.series] = s.timestamp
        }
    }

    @Test func desiredShardsFollowsPrometheusRule() {
        // 1000 samples/s in, 10 ms per 100-sample request, caught up: 1000 × 0.0001 = 0.1 → 1.
        #expect(Resharding.desiredShards(current: 4, interval: 10, samplesIn: 10_000, samplesOut: 10_000, sendSeconds: 1,
                                         delay: 0, minShards: 1, maxShards: 200) == 1)
        // Behind by 100 s: 1000 × 0.0001 × (1 + 0.05 × 100) = 0.6 → 1, but not while > 10 s behind.
        #expect(Resharding.desiredShards(current: 4, interval: 10, samplesIn: 10_000, samplesOut: 10_000, sendSeconds: 1,
                                         delay: 100, minShards: 1, maxShards: 200) == 4)
        // Slow sends (1 ms a sample), 1000/s in: 1 shard would fall behind; 1 × 1000 × 0.001 × (1 + 0.05 × 60) = 4.
        #expect(Resharding.desiredShards(current: 1, interval: 10, samplesIn: 10_000, samplesOut: 10_000, sendSeconds: 10,
                                         delay: 60, minShards: 1, maxShards: 200) == 4)
        // Within 30% of the current number: unchanged; and clamped to maxShards.
        #expect(Resharding.desiredShards(current: 4, interval: 10, samplesIn: 10_000, samplesOut: 10_000, sendSeconds: 45,
                                         delay: 0, minShards: 1, maxShards: 200) == 4)
        #expect(Resharding.desiredShards(current: 1, interval: 10, samplesIn: 10_000, samplesOut: 10_000, sendSeconds: 10_000,
                                         delay: 0, minShards: 1, maxShards: 8) == 8)
        // Nothing sent: no information, no change.
        #expect(Resharding.desiredShards(current: 3, interval: 10, samplesIn: 10_000, samplesOut: 0, sendSeconds: 0,
                                         delay: 0, minShards: 1, maxShards: 8) == 3)
    }

    @Test func positionFileRoundTripsAndRefusesDamage() throws {
        let p = WALPosition(segment: 42, offset: 1_234_567)
        let bytes = PositionFile.encode(p)
        #expect(bytes.count == 25)
        #expect(Array(bytes[0..<4]) == Array("RWPS".utf8))
        #expect(try PositionFile.decode(bytes, path: "x") == p)
        for i in bytes.indices {
            var damaged = bytes
            damaged[i] ^= 0x10
            #expect(throws: TSDBError.self) { try PositionFile.decode(damaged, path: "x") }
        }
        #expect(throws: TSDBError.self) { try PositionFile.decode(Array(bytes.prefix(24)), path: "x") }
    }

    @Test func retryAfterParsesSecondsAndDates() {
        #expect(RetryAfter.seconds("7") == 7)
        #expect(RetryAfter.seconds(" 3 ") == 3)
        #expect(RetryAfter.httpDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777)
        #expect(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:47 GMT", now: 784111777) == 10)
        #expect(RetryAfter.seconds("soon") == nil)
        #expect(Base64.encode(Array("user:pass".utf8)) == "dXNlcjpwYXNz")
    }
}
