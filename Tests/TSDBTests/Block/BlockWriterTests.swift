import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Random series for block tests, with the model the block must agree with.
struct BlockWorkload {
    static let names = ["__name__", "job", "instance", "code", "path", "u_label"]
    static let values = ["a", "b", "api", "api-2", "web", "5xx", "500", "é", "e\u{301}", "/x\ny", "日本語", "\"q\\", "z", "🙂"]

    var series: [Labels: [Sample]] = [:]
    var minTime: Int64 = .max
    var maxTime: Int64 = .min

    /// `count` distinct series, each with 1–400 samples every 1–30 s (some irregular)
    /// starting near `start`, values from ``InterestingValues`` (NaN, ±Inf, stale NaN…).
    init(count: Int, start: Int64 = 1_700_000_000_000, using rng: inout SeededRandom) {
        var all = Set<Labels>()
        while all.count < count { all.insert(Self.randomLabels(&rng)) }
        for l in all {
            var t = start + Int64(rng.next() % 60_000)
            var samples: [Sample] = []
            for _ in 0..<(1 + Int(rng.next() % 400)) {
                samples.append(Sample(timestamp: t, value: InterestingValues.random(using: &rng)))
                t += 1 + Int64(rng.next() % 30_000)
            }
            series[l] = samples
            minTime = min(minTime, samples[0].timestamp)
            maxTime = max(maxTime, samples[samples.count - 1].timestamp)
        }
    }

    static func randomLabels(_ rng: inout SeededRandom) -> Labels {
        TSDBTestSupport.randomLabels(names: names, values: values, using: &rng)
    }

    static func randomMatcher(_ rng: inout SeededRandom) -> Matcher {
        let name = names[Int(rng.next() % UInt64(names.count))]
        let value = values[Int(rng.next() % UInt64(values.count))]
        let patterns = [".*", ".+", "a.*", ".*i", "api|web", "5..", "(?i)API", "", "e\u{301}|z", "[a-c]", "日.*", Self.regexEscape(value)]
        switch rng.next() % 4 {
        case 0: return .equal(name, rng.next() % 5 == 0 ? "" : value)
        case 1: return .notEqual(name, value)
        case 2: return try! Matcher(.regexMatch, name, patterns[Int(rng.next() % UInt64(patterns.count))])
        default: return try! Matcher(.regexNoMatch, name, patterns[Int(rng.next() % UInt64(patterns.count))])
        }
    }

    /// `s` as a regex matching exactly itself.
    static func regexEscape(_ s: String) -> String {
        var out = ""
        for c in s { if "\\.+*?()|[]{}^$".contains(c) { out.append("\\") }; out.append(c) }
        return out
    }

    /// The samples cut into XOR chunks of at most 120, as the head cuts them.
    var headSeries: [(labels: Labels, chunks: [ChunkMeta])] {
        series.map { l, samples in
            (l, stride(from: 0, to: samples.count, by: 120).map { i in
                let part = samples[i..<min(i + 120, samples.count)]
                return ChunkMeta(chunk: XORChunk(encoding: part), minTime: part.first!.timestamp, maxTime: part.last!.timestamp)
            })
        }
    }

    var sampleCount: Int { series.values.reduce(0) { $0 + $1.count } }
    var chunkCount: Int { series.values.reduce(0) { $0 + ($1.count + 119) / 120 } }

    /// What a select must return, sorted by labels.
    func expected(_ matchers: [Matcher], minTime lo: Int64, maxTime hi: Int64, deleted: [Labels: [TombstoneInterval]] = [:]) -> [(Labels, [Sample])] {
        var out: [(Labels, [Sample])] = []
        for (l, samples) in series where matchers.allSatisfy({ $0.matches(l[$0.name] ?? "") }) {
            let kept = samples.filter { s in
                s.timestamp >= lo && s.timestamp <= hi && !TombstoneInterval.isDeleted(s.timestamp, in: deleted[l] ?? [])
            }
            if !kept.isEmpty { out.append((l, kept)) }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Writes the workload as one block in `parent`, spanning its samples (maxTime exclusive).
    func write(to parent: String, sys: Syscalls = .system, ulid: ULID? = nil) throws -> BlockMeta {
        try BlockWriter.write(directory: parent, series: headSeries, minTime: minTime, maxTime: maxTime + 1, sys: sys, ulid: ulid)
    }
}

@Suite(.heavy) struct BlockWriterTests {
    @Test func randomWorkloadReadsBackThroughSelect() throws {
        var rng = SeededRandom.fromEnvironment()
        let seed = rng.seed
        let workload = BlockWorkload(count: 200, using: &rng)
        try TemporaryDirectory.with { dir in
            let meta = try workload.write(to: dir)
            #expect(meta.compaction.level == 1)
            #expect(meta.compaction.sources == [meta.ulid])
            #expect(meta.stats.numSeries == UInt64(workload.series.count))
            #expect(meta.stats.numSamples == UInt64(workload.sampleCount))
            #expect(meta.stats.numChunks == UInt64(workload.chunkCount))
            #expect(meta.minTime == workload.minTime && meta.maxTime == workload.maxTime + 1)
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == [meta.ulid.description])

            let blockDir = dir + "/" + meta.ulid.description
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: blockDir)) == ["chunks", "index", "meta.json", "tombstones"])
            let block = try Block.open(directory: blockDir, sys: .system)
            #expect(block.meta == meta)
            #expect(try TombstonesFile.read(blockDirectory: blockDir, sys: .system).tombstones.isEmpty)

            // Everything.
            let all = try block.select([try Matcher(.regexMatch, "__name__", ".+")], minTime: .min, maxTime: .max)
            #expect(all.map(\.labels) == workload.series.keys.sorted())
            for s in all where s.samples != workload.series[s.labels] {
                Issue.record("seed \(seed): samples differ for \(s.labels)")
            }

            let span = UInt64(workload.maxTime - workload.minTime + 1)
            for _ in 0..<300 {
                let matchers = (0..<(1 + Int(rng.next() % 3))).map { _ in BlockWorkload.randomMatcher(&rng) }
                let lo = workload.minTime - 1000 + Int64(rng.next() % span)
                let hi = rng.next() % 4 == 0 ? Int64.max : lo + Int64(rng.next() % (span / 4 + 1))
                let got = try block.select(matchers, minTime: lo, maxTime: hi)
                let expected = workload.expected(matchers, minTime: lo, maxTime: hi)
                #expect(got.map(\.labels) == expected.map(\.0), "seed \(seed) matchers \(matchers) range \(lo)…\(hi)")
                for (g, e) in zip(got, expected) where g.samples != e.1 {
                    Issue.record("seed \(seed): samples differ for \(g.labels) matchers \(matchers) range \(lo)…\(hi)")
                }
                let name = BlockWorkload.names[Int(rng.next() % UInt64(BlockWorkload.names.count))]
                let matching = workload.series.keys.filter { l in matchers.allSatisfy { $0.matches(l[$0.name] ?? "") } }
                let values = Set(matching.compactMap { $0[name] }.map(ByteString.init)).sorted().map(\.string)
                #expect(try block.labelValues(name, matching: matchers) == values, "seed \(seed) \(matchers)")
                let names = Set(matching.flatMap { $0.map { ByteString($0.name) } }).sorted().map(\.string)
                #expect(try block.labelNames(matching: matchers) == names, "seed \(seed) \(matchers)")
            }
            let allNames = Set(workload.series.keys.flatMap { $0.map { ByteString($0.name) } }).sorted().map(\.string)
            #expect(try block.labelNames() == allNames)
            let jobs = Set(workload.series.keys.compactMap { $0["job"] }.map(ByteString.init)).sorted().map(\.string)
            #expect(try block.labelValues("job") == jobs)
            // Outside the block's range: nothing.
            #expect(try block.select([.equal("__name__", "up")], minTime: workload.maxTime + 1, maxTime: .max).isEmpty)
            block.close()
        }
    }

    @Test func seriesWithoutChunksAreDroppedAndInputOrderDoesNotMatter() throws {
        try TemporaryDirectory.with { dir in
            let a = try Labels(["__name__": "a"]), b = try Labels(["__name__": "b", "x": "1"]), c = try Labels(["__name__": "c"])
            let chunk = ChunkMeta(chunk: XORChunk(encoding: [Sample(timestamp: 10, value: 1), Sample(timestamp: 20, value: .nan)]),
                                  minTime: 10, maxTime: 20)
            let meta = try BlockWriter.write(directory: dir, series: [(c, [chunk]), (b, []), (a, [chunk])], minTime: 0, maxTime: 100, sys: .system)
            #expect(meta.stats == BlockMeta.Stats(numSamples: 4, numSeries: 2, numChunks: 2))
            let block = try Block.open(directory: dir + "/" + meta.ulid.description, sys: .system)
            #expect(try block.select([.notEqual("__name__", "")], minTime: 0, maxTime: 100).map(\.labels) == [a, c])
            #expect(try block.labelNames() == ["__name__"])
            // Between the two samples: the chunk overlaps, but no sample is in range.
            #expect(try block.select([.equal("__name__", "a")], minTime: 11, maxTime: 19).isEmpty)
        }
    }

    @Test func invalidInputIsRejectedWithoutLeavingFiles() throws {
        try TemporaryDirectory.with { dir in
            let a = try Labels(["__name__": "a"])
            let chunk = ChunkMeta(chunk: XORChunk(encoding: [Sample(timestamp: 10, value: 1)]), minTime: 10, maxTime: 10)
            for (series, minTime, maxTime) in [([(a, [chunk])], Int64(0), Int64(10)),   // maxTime is exclusive
                                               ([(a, [chunk])], 11, 20),
                                               ([(a, [chunk]), (a, [chunk])], 0, 100),
                                               ([(a, [chunk, chunk])], 0, 100),
                                               ([], 5, 5)] {
                #expect(throws: TSDBError.self) {
                    try BlockWriter.write(directory: dir, series: series, minTime: minTime, maxTime: maxTime, sys: .system)
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }

    @Test func leftoversAreRemoved() throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 7)
            let workload = BlockWorkload(count: 5, using: &rng)
            let meta = try workload.write(to: dir)
            let fm = FileManager.default
            for name in ["01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation", "01ARZ3NDEKTSV4RRFFQ69G5FAW.tmp-for-deletion"] {
                try fm.createDirectory(atPath: dir + "/" + name + "/chunks", withIntermediateDirectories: true)
                try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/" + name + "/chunks/000001"))
            }
            try Data().write(to: URL(fileURLWithPath: dir + "/other.tmp-for-creation-not"))
            let removed = try BlockWriter.removeLeftovers(in: dir, sys: .system)
            #expect(removed == ["01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation", "01ARZ3NDEKTSV4RRFFQ69G5FAW.tmp-for-deletion"])
            #expect(Set(try fm.contentsOfDirectory(atPath: dir)) == [meta.ulid.description, "other.tmp-for-creation-not"])
            #expect(try BlockWriter.removeLeftovers(in: dir + "/missing", sys: .system).isEmpty)
        }
    }

    /// A failing syscall at each stage of the write leaves neither a block nor a tmp dir.
    @Test(arguments: ["rename-final", "rename-any", "fsync-3", "fsync-last", "write-1", "open-index"])
    func injectedFailureLeavesNothing(_ fault: String) throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 11)
            let workload = BlockWorkload(count: 20, using: &rng)
            let counter = Locked(0)
            var sys = Syscalls.system
            let real = Syscalls.system
            switch fault {
            case "rename-final":
                sys.rename = { from, to in from.hasSuffix(".tmp-for-creation") ? -EIO : real.rename(from, to) }
            case "rename-any":
                sys.rename = { _, _ in -EIO }
            case "fsync-3":
                sys.fdatasync = { fd in
                    let n: Int = counter.withLock { $0 += 1; return $0 }
                    return n == 3 ? -EIO : real.fsync(fd)
                }
                sys.fsync = sys.fdatasync  // directories too, as one count
            case "fsync-last":
                // The parent directory's fsync, after the rename: the block must go again.
                sys.rename = { from, to in
                    let r = real.rename(from, to)
                    if from.hasSuffix(".tmp-for-creation") { counter.withLock { $0 = 1 } }
                    return r
                }
                sys.fdatasync = { fd in
                    let n: Int = counter.withLock { $0 }
                    return n == 1 ? -EIO : real.fsync(fd)
                }
                sys.fsync = sys.fdatasync  // directories too, as one count
            case "write-1":
                sys.write = { _, _ in -Int(ENOSPC) }
            default:
                sys.open = { path, flags, mode in path.hasSuffix("/index") ? -EACCES : real.open(path, flags, mode) }
            }
            #expect(throws: TSDBError.self) { try workload.write(to: dir, sys: sys) }
            let left = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(left.isEmpty, "\(fault): \(left)")
            // And the directory works afterwards.
            let meta = try workload.write(to: dir)
            #expect(FileManager.default.fileExists(atPath: dir + "/" + meta.ulid.description + "/index"))
        }
    }

    @Test func explicitULIDNamesTheBlock() throws {
        try TemporaryDirectory.with { dir in
            var rng = SeededRandom(seed: 3)
            let workload = BlockWorkload(count: 3, using: &rng)
            let ulid = ULID.make(timestampMs: 1_700_000_000_000, using: &rng)
            let meta = try workload.write(to: dir, ulid: ulid)
            #expect(meta.ulid == ulid)
            #expect(FileManager.default.fileExists(atPath: dir + "/" + ulid.description + "/meta.json"))
            // Writing the same ULID again is refused, and the existing block is untouched.
            #expect(throws: TSDBError.self) { try workload.write(to: dir, ulid: ulid) }
            #expect(try Block.open(directory: dir + "/" + ulid.description, sys: .system).meta == meta)
        }
    }
}
