import Dispatch
import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Samples keyed by the UTF-8 bytes of the labels' printed form, as `promtool tsdb dump`
/// prints them. Bytes, not `String`: Swift strings compare by canonical equivalence, which
/// would merge `é` and `e\u{301}`.
typealias DumpedSamples = [[UInt8]: [(timestamp: Int64, value: Double)]]

enum PromtoolDump {
    /// `promtool tsdb dump` of every sample in `dataDirectory`. promtool 2.42 opens the
    /// directory as a read-only DB, which needs a `wal/` directory: one is created.
    static func run(_ dataDirectory: String) throws -> DumpedSamples {
        try FileManager.default.createDirectory(atPath: dataDirectory + "/wal", withIntermediateDirectories: true)
        let out = try Promtool.run(["tsdb", "dump", "--min-time=-9223372036854775808",
                                    "--max-time=9223372036854775807", dataDirectory])
        return try parse(out)
    }

    /// Lines `{labels} value timestamp`; the labels may hold spaces, so split from the right.
    static func parse(_ text: String) throws -> DumpedSamples {
        var out: DumpedSamples = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let lastSpace = line.lastIndex(of: " "),
                  let valueSpace = line[..<lastSpace].lastIndex(of: " "),
                  let t = Int64(line[line.index(after: lastSpace)...]),
                  let v = value(line[line.index(after: valueSpace)..<lastSpace])
            else { throw CommandFailure(description: "unparsable dump line: \(line)") }
            out[Array(line[..<valueSpace].utf8), default: []].append((t, v))
        }
        return out
    }

    /// Go's `%g`: NaN, +Inf, -Inf, or a number Swift parses.
    static func value(_ s: Substring) -> Double? {
        switch s {
        case "NaN": return .nan
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(s)
        }
    }

    /// Compares `got` with `expected`: same series, same timestamps, same values (any NaN
    /// equal to any NaN, as the dump cannot tell them apart).
    static func expectEqual(_ got: DumpedSamples, _ expected: DumpedSamples, _ context: String) {
        #expect(Set(got.keys) == Set(expected.keys), "\(context): series differ")
        for (key, e) in expected {
            guard let g = got[key] else { continue }
            let key = String(decoding: key, as: UTF8.self)
            #expect(g.map(\.timestamp) == e.map(\.timestamp), "\(context): timestamps differ for \(key)")
            for (a, b) in zip(g, e) where !(a.value == b.value || (a.value.isNaN && b.value.isNaN)) {
                Issue.record("\(context): \(key) at \(a.timestamp): \(a.value) vs \(b.value)")
                break
            }
        }
    }

    static func samples(of series: [Series]) -> DumpedSamples {
        var out: DumpedSamples = [:]
        for s in series { out[Array(s.labels.description.utf8), default: []] += s.samples.map { ($0.timestamp, $0.value) } }
        return out
    }

    static func samples(of model: [Labels: [Sample]]) -> DumpedSamples {
        var out: DumpedSamples = [:]
        for (l, samples) in model { out[Array(l.description.utf8)] = samples.map { ($0.timestamp, $0.value) } }
        return out
    }
}

@Suite(.heavy) struct BlockReadTests {
    static let all = [try! Matcher(.regexMatch, "__name__", ".+")]

    @Test func tombstonesHideDeletedSamples() throws {
        var rng = SeededRandom.fromEnvironment()
        let seed = rng.seed
        let workload = BlockWorkload(count: 60, using: &rng)
        try TemporaryDirectory.with { dir in
            let meta = try workload.write(to: dir)
            let blockDir = dir + "/" + meta.ulid.description
            // Delete random ranges of random series, by index reference.
            let index = try IndexReader.open(path: blockDir + "/index", sys: .system)
            var stones = TombstoneSet()
            var deleted: [Labels: [TombstoneInterval]] = [:]
            let span = UInt64(workload.maxTime - workload.minTime + 1)
            for ref in try index.allPostings() where rng.next() % 3 == 0 {
                let labels = try index.series(ref).labels
                for _ in 0..<(1 + rng.next() % 3) {
                    let lo = workload.minTime + Int64(rng.next() % span)
                    let interval = TombstoneInterval(minTime: lo, maxTime: lo + Int64(rng.next() % (span / 3)))
                    stones.add(ref: ref, interval)
                    deleted[labels, default: []].append(interval)
                }
            }
            // One series deleted entirely.
            if let ref = try index.allPostings().first {
                stones.add(ref: ref, TombstoneInterval(minTime: .min, maxTime: .max))
                deleted[try index.series(ref).labels, default: []].append(TombstoneInterval(minTime: .min, maxTime: .max))
            }
            _ = try TombstonesFile.write(stones, blockDirectory: blockDir, sys: .system)

            let block = try Block.open(directory: blockDir, sys: .system)
            for _ in 0..<100 {
                let matchers = [BlockWorkload.randomMatcher(&rng)]
                let lo = workload.minTime - 1000 + Int64(rng.next() % span)
                let hi = rng.next() % 3 == 0 ? Int64.max : lo + Int64(rng.next() % span)
                let got = try block.select(matchers, minTime: lo, maxTime: hi)
                let expected = workload.expected(matchers, minTime: lo, maxTime: hi, deleted: deleted)
                #expect(got.map(\.labels) == expected.map(\.0), "seed \(seed) \(matchers) \(lo)…\(hi)")
                for (g, e) in zip(got, expected) where g.samples != e.1 {
                    Issue.record("seed \(seed): samples differ for \(g.labels)")
                }
            }

            // Prometheus honours our tombstones the same way.
            if Promtool.isAvailable {
                let expected = workload.expected(Self.all, minTime: .min, maxTime: .max, deleted: deleted)
                PromtoolDump.expectEqual(try PromtoolDump.run(dir),
                                         PromtoolDump.samples(of: Dictionary(uniqueKeysWithValues: expected.map { ($0.0, $0.1) })),
                                         "seed \(seed): promtool dump with tombstones")
            }
        }
    }

    @Test func closeWaitsForReferencesAndThenRefusesQueries() throws {
        var rng = SeededRandom(seed: 5)
        let workload = BlockWorkload(count: 10, using: &rng)
        try TemporaryDirectory.with { dir in
            let meta = try workload.write(to: dir)
            let block = try Block.open(directory: dir + "/" + meta.ulid.description, sys: .system)
            try block.retain()
            #expect(block.referenceCount == 1)
            let closed = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                block.close()
                closed.signal()
            }
            #expect(closed.wait(timeout: .now() + 0.2) == .timedOut, "close must wait for the reference")
            // Still readable while the reference is held, by the holder.
            let series = try block.withReaders { r throws(TSDBError) in try r.index.allPostings() }
            #expect(series.count == workload.series.count)
            let kept = try block.select(Self.all, minTime: .min, maxTime: .max)
            block.release()
            #expect(closed.wait(timeout: .now() + 5) == .success)
            #expect(block.referenceCount == 0)
            #expect(throws: TSDBError.self) { try block.select(Self.all, minTime: .min, maxTime: .max) }
            #expect(throws: TSDBError.self) { try block.retain() }
            // What a query returned outlives the block.
            #expect(kept.map(\.labels) == workload.series.keys.sorted())
            #expect(kept.allSatisfy { $0.samples == workload.series[$0.labels] })
            block.close()
        }
    }

    @Test func concurrentQueriesAgree() throws {
        var rng = SeededRandom(seed: 9)
        let workload = BlockWorkload(count: 50, using: &rng)
        try TemporaryDirectory.with { dir in
            let meta = try workload.write(to: dir)
            let block = try Block.open(directory: dir + "/" + meta.ulid.description, sys: .system)
            let expected = workload.expected(Self.all, minTime: .min, maxTime: .max).map(\.0)
            let failures = Locked(0)
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                for _ in 0..<20 {
                    let got = (try? block.select(Self.all, minTime: .min, maxTime: .max))?.map(\.labels)
                    if got != expected { failures.withLock { $0 += 1 } }
                }
            }
            #expect(failures.withLock { $0 } == 0)
            #expect(block.referenceCount == 0)
            block.close()
        }
    }

    @Test func missingOrDamagedFilesAreReported() throws {
        var rng = SeededRandom(seed: 13)
        let workload = BlockWorkload(count: 5, using: &rng)
        try TemporaryDirectory.with { dir in
            let meta = try workload.write(to: dir)
            let blockDir = dir + "/" + meta.ulid.description
            let fm = FileManager.default
            // No tombstones file: none.
            try fm.removeItem(atPath: blockDir + "/tombstones")
            #expect(try Block.open(directory: blockDir, sys: .system).select(Self.all, minTime: .min, maxTime: .max).count == 5)
            // Damaged chunk bytes: select reports corruption, it does not trap.
            let segment = blockDir + "/chunks/000001"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
            bytes[bytes.count - 10] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: segment))
            let damaged = try Block.open(directory: blockDir, sys: .system)
            #expect { try damaged.select(Self.all, minTime: .min, maxTime: .max) } throws: { error in
                (error as? TSDBError)?.code == .corruption
            }
            #expect(damaged.referenceCount == 0)
            try fm.removeItem(atPath: blockDir + "/index")
            #expect { try Block.open(directory: blockDir, sys: .system) } throws: { ($0 as? TSDBError)?.code == .notFound }
            try fm.removeItem(atPath: blockDir + "/meta.json")
            #expect { try Block.open(directory: blockDir, sys: .system) } throws: { ($0 as? TSDBError)?.code == .notFound }
        }
    }
}

/// Prometheus 2.42's promtool as the oracle, both ways.
@Suite(.heavy, .enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
struct BlockPromtoolTests {
    /// promtool lists, analyzes and dumps a block we wrote exactly as we wrote it.
    @Test func promtoolReadsOurBlock() throws {
        var rng = SeededRandom.fromEnvironment()
        let seed = rng.seed
        let workload = BlockWorkload(count: 150, using: &rng)
        try TemporaryDirectory.with { dir in
            let meta = try workload.write(to: dir)
            let ulid = meta.ulid.description

            let list = try Promtool.run(["tsdb", "list", dir])
            let row = list.split(separator: "\n").first { $0.hasPrefix(ulid) }?.split(separator: " ", omittingEmptySubsequences: true)
            #expect(row.map { Array($0[0..<3]) } == [Substring(ulid), Substring(String(meta.minTime)), Substring(String(meta.maxTime))],
                    "seed \(seed): \(list)")
            // BLOCK ULID, MIN TIME, MAX TIME, DURATION, NUM SAMPLES, NUM CHUNKS, NUM SERIES, SIZE
            #expect(row.map { Array($0[4..<7]) } == [Substring(String(workload.sampleCount)), Substring(String(workload.chunkCount)),
                                                     Substring(String(workload.series.count))], "seed \(seed): \(list)")
            let readable = try Promtool.run(["tsdb", "list", "-r", dir])
            #expect(readable.contains(ulid))

            let analysis = try Promtool.run(["tsdb", "analyze", dir, ulid])
            #expect(analysis.contains("Block ID: \(ulid)"), "\(analysis)")
            #expect(analysis.contains("Series: \(workload.series.count)"), "\(analysis)")

            PromtoolDump.expectEqual(try PromtoolDump.run(dir), PromtoolDump.samples(of: workload.series), "seed \(seed)")
        }
    }

    /// Blocks promtool made from the OpenMetrics fixture read here as promtool dumps them.
    @Test func weReadPromtoolBlocks() throws {
        try TemporaryDirectory.with { dir in
            let data = dir + "/data"
            try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", "--quiet",
                              Repository.path("Fixtures/chunks/input.om"), data])
            let names = try FileManager.default.contentsOfDirectory(atPath: data).filter { ULID($0) != nil }.sorted()
            #expect(names.count == 16)
            var ours: DumpedSamples = [:]
            var total: UInt64 = 0
            for name in names {
                let block = try Block.open(directory: data + "/" + name, sys: .system)
                #expect(block.meta.ulid.description == name)
                #expect(block.meta.compaction.level == 1)
                let series = try block.select(BlockReadTests.all, minTime: .min, maxTime: .max)
                #expect(UInt64(series.count) == block.meta.stats.numSeries, "\(name)")
                let count = series.reduce(0) { $0 + $1.samples.count }
                #expect(UInt64(count) == block.meta.stats.numSamples, "\(name)")
                total += UInt64(count)
                // Every sample inside the block's range [minTime, maxTime).
                #expect(series.allSatisfy { $0.samples.allSatisfy { $0.timestamp >= block.meta.minTime && $0.timestamp < block.meta.maxTime } })
                // Label queries agree with the series selected.
                let names = Set(series.flatMap { $0.labels.map { ByteString($0.name) } }).sorted().map(\.string)
                #expect(try block.labelNames() == names)
                let metrics = Set(series.compactMap { $0.labels.metricName }.map(ByteString.init)).sorted().map(\.string)
                #expect(try block.labelValues("__name__") == metrics)
                for (key, samples) in PromtoolDump.samples(of: series) { ours[key, default: []] += samples }
                block.close()
            }
            for key in ours.keys { ours[key]!.sort { $0.timestamp < $1.timestamp } }
            let dumped = try PromtoolDump.run(data)
            #expect(total == UInt64(dumped.values.reduce(0) { $0 + $1.count }))
            PromtoolDump.expectEqual(ours, dumped, "promtool blocks")
        }
    }
}
