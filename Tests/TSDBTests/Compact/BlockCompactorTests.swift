import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

#if canImport(Glibc)
import Glibc
#endif

/// Blocks written from a model of samples, for compaction tests: each parent's series in
/// chunks of up to 120 samples, a value fixed per (series, timestamp) so that parents that
/// overlap agree where they share a timestamp (and dedupe is unambiguous).
struct CompactionFixture {
    static let all = [try! Matcher(.regexMatch, "__name__", ".+")]

    /// One parent: samples per series, its range `[minTime, maxTime)`, and deletions per series.
    struct Parent {
        var series: [Labels: [Sample]] = [:]
        var minTime: Int64
        var maxTime: Int64
        var deleted: [Labels: [TombstoneInterval]] = [:]
    }

    /// A deterministic value for a sample.
    static func value(_ labels: Labels, _ t: Int64) -> Double {
        var h = Hasher()
        h.combine(labels.description)
        h.combine(t)
        // Hasher is seeded per process; values only need to agree within one test.
        let bits = UInt64(bitPattern: Int64(h.finalize()))
        return t % 7 == 0 ? Double(bitPattern: bits) : Double(bits % 10_000) / 8
    }

    /// `count` random series with samples every 1–`step` ms in `[minTime, maxTime)`.
    static func randomParent(labels: [Labels], minTime: Int64, maxTime: Int64, step: Int64 = 300,
                             using rng: inout SeededRandom) -> Parent {
        var p = Parent(minTime: minTime, maxTime: maxTime)
        for l in labels {
            var t = minTime + Int64(rng.next() % UInt64(step))
            var samples: [Sample] = []
            while t < maxTime {
                samples.append(Sample(timestamp: t, value: value(l, t)))
                t += 1 + Int64(rng.next() % UInt64(step))
            }
            if !samples.isEmpty { p.series[l] = samples }
        }
        return p
    }

    /// Writes `parent` (with its tombstones, by index reference) as a level-1 block.
    @discardableResult
    static func write(_ parent: Parent, to dir: String, ulid: ULID? = nil) throws -> BlockMeta {
        let series = parent.series.map { labels, samples in
            (labels: labels, chunks: stride(from: 0, to: samples.count, by: 120).map { i in
                let part = Array(samples[i..<min(i + 120, samples.count)])
                return ChunkMeta(chunk: XORChunk(encoding: part), minTime: part[0].timestamp, maxTime: part[part.count - 1].timestamp)
            })
        }
        var meta = try BlockWriter.write(directory: dir, series: series, minTime: parent.minTime, maxTime: parent.maxTime, sys: .system, ulid: ulid)
        if !parent.deleted.isEmpty {
            let blockDir = dir + "/" + meta.ulid.description
            let index = try IndexReader.open(path: blockDir + "/index", sys: .system)
            var stones = TombstoneSet()
            for ref in try index.allPostings() {
                for interval in parent.deleted[try index.series(ref).labels] ?? [] { stones.add(ref: ref, interval) }
            }
            _ = try TombstonesFile.write(stones, blockDirectory: blockDir, sys: .system)
            meta.stats.numTombstones = UInt64(stones.intervalCount)
            try meta.write(blockDirectory: blockDir, sys: .system)
        }
        return meta
    }

    /// What a compaction of `parents` must hold: each parent's samples minus its own
    /// deletions, each timestamp once.
    static func model(_ parents: [Parent]) -> [Labels: [Sample]] {
        var merged: [Labels: [Int64: Sample]] = [:]
        for p in parents {
            for (l, samples) in p.series {
                let deleted = p.deleted[l] ?? []
                for s in samples where !TombstoneInterval.isDeleted(s.timestamp, in: deleted) {
                    merged[l, default: [:]][s.timestamp] = s
                }
            }
        }
        return merged.mapValues { $0.values.sorted { $0.timestamp < $1.timestamp } }.filter { !$0.value.isEmpty }
    }

    /// Every series of `block` with its samples.
    static func contents(_ block: Block) throws -> [Labels: [Sample]] {
        var out: [Labels: [Sample]] = [:]
        for s in try block.select(all, minTime: .min, maxTime: .max) { out[s.labels] = s.samples }
        return out
    }

    static func labels(_ count: Int, using rng: inout SeededRandom) -> [Labels] {
        var set = Set<Labels>()
        while set.count < count { set.insert(BlockWorkload.randomLabels(&rng)) }
        return set.sorted()
    }

    /// Names in `dir`, sorted, without `wal`.
    static func listing(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "wal" }.sorted()
    }
}

@Suite(.heavy) struct BlockCompactorTests {
    typealias F = CompactionFixture

    @Test func adjacentBlocksMergeWithChunksCopiedAndMetaFilledIn() throws {
        var rng = SeededRandom(seed: 1)
        let labels = F.labels(40, using: &rng)
        try TemporaryDirectory.with { dir in
            let parents = (0..<3).map { i in
                F.randomParent(labels: Array(labels.shuffled(using: &rng).prefix(30)), minTime: Int64(i) * 100_000,
                               maxTime: Int64(i + 1) * 100_000, using: &rng)
            }
            let metas = try parents.map { try F.write($0, to: dir) }
            let blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
            defer { for b in blocks { b.close() } }
            let meta = try #require(try BlockCompactor.compact(directory: dir, blocks: blocks, sys: .system))

            #expect(meta.minTime == 0 && meta.maxTime == 300_000)
            #expect(meta.compaction.level == 2)
            #expect(meta.compaction.sources == metas.map(\.ulid).sorted())
            #expect(meta.compaction.parents == metas.map { .init(ulid: $0.ulid, minTime: $0.minTime, maxTime: $0.maxTime) })
            #expect(meta.stats.numChunks == metas.reduce(0) { $0 + $1.stats.numChunks }, "no chunk needed rewriting")
            #expect(meta.stats.numSamples == metas.reduce(0) { $0 + $1.stats.numSamples })
            #expect(try BlockMeta.read(blockDirectory: dir + "/" + meta.ulid.description, sys: .system) == meta)

            let child = try Block.open(directory: dir + "/" + meta.ulid.description, sys: .system)
            defer { child.close() }
            let model = F.model(parents)
            #expect(meta.stats.numSeries == UInt64(model.count))
            #expect(try F.contents(child) == model)
            // Byte for byte: the child's chunks are the parents' chunks, in time order.
            let parentChunks = try blocks.flatMap { b in try b.select(F.all, minTime: .min, maxTime: .max).flatMap { $0.chunks.map(\.chunk.bytes) } }
            let childChunks = try child.select(F.all, minTime: .min, maxTime: .max).flatMap { $0.chunks.map(\.chunk.bytes) }
            #expect(Set(parentChunks) == Set(childChunks))
            #expect(try F.listing(dir).count == 4, "parents stay; no temporary directory left")
        }
    }

    @Test func overlappingBlocksMergeDedupingIdenticalSamples() throws {
        var rng = SeededRandom(seed: 2)
        let labels = F.labels(20, using: &rng)
        try TemporaryDirectory.with { dir in
            let a = F.randomParent(labels: labels, minTime: 0, maxTime: 60_000, step: 200, using: &rng)
            // b repeats a's samples in [30 s, 60 s) exactly and adds its own up to 90 s.
            var b = F.randomParent(labels: labels, minTime: 30_000, maxTime: 90_000, step: 150, using: &rng)
            for (l, samples) in a.series {
                let shared = samples.filter { $0.timestamp >= 30_000 }
                var byTime = Dictionary(uniqueKeysWithValues: (b.series[l] ?? []).map { ($0.timestamp, $0) })
                for s in shared { byTime[s.timestamp] = s }
                b.series[l] = byTime.values.sorted { $0.timestamp < $1.timestamp }
            }
            let metas = [try F.write(a, to: dir), try F.write(b, to: dir)]
            // The planner picks them as overlapping, whatever the ranges.
            #expect(CompactionPlanner(ranges: [2 * 3_600_000]).plan(metas).map(\.ulid) == metas.map(\.ulid))
            let blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
            defer { for b in blocks { b.close() } }
            let meta = try #require(try BlockCompactor.compact(directory: dir, blocks: blocks, sys: .system))
            let child = try Block.open(directory: dir + "/" + meta.ulid.description, sys: .system)
            defer { child.close() }
            let model = F.model([a, b])
            #expect(try F.contents(child) == model)
            #expect(meta.stats.numSamples == UInt64(model.values.reduce(0) { $0 + $1.count }))
            #expect(meta.stats.numSamples < metas[0].stats.numSamples + metas[1].stats.numSamples, "duplicates kept once")
            #expect(meta.minTime == 0 && meta.maxTime == 90_000 && meta.compaction.level == 2)
            // Merged chunks hold at most 120 samples.
            for s in try child.select(F.all, minTime: .min, maxTime: .max) {
                #expect(s.chunks.allSatisfy { ($0.chunk.count ?? 0) <= 120 })
            }
        }
    }

    @Test func tombstonesAreAppliedAndDeletedSeriesDropped() throws {
        var rng = SeededRandom(seed: 3)
        let labels = F.labels(10, using: &rng)
        try TemporaryDirectory.with { dir in
            var a = F.randomParent(labels: labels, minTime: 0, maxTime: 100_000, using: &rng)
            let b = F.randomParent(labels: labels, minTime: 100_000, maxTime: 200_000, using: &rng)
            a.deleted[labels[0]] = [TombstoneInterval(minTime: .min, maxTime: .max)]
            a.deleted[labels[1]] = [TombstoneInterval(minTime: 10_000, maxTime: 20_000), TombstoneInterval(minTime: 50_000, maxTime: 50_500)]
            // Deleting past a's end does not touch b: tombstones belong to their block.
            a.deleted[labels[2]] = [TombstoneInterval(minTime: 90_000, maxTime: 150_000)]
            let metas = [try F.write(a, to: dir), try F.write(b, to: dir)]
            let blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
            defer { for b in blocks { b.close() } }
            let meta = try #require(try BlockCompactor.compact(directory: dir, blocks: blocks, sys: .system))
            #expect(meta.stats.numTombstones == 0)
            let child = try Block.open(directory: dir + "/" + meta.ulid.description, sys: .system)
            defer { child.close() }
            let got = try F.contents(child)
            #expect(got == F.model([a, b]))
            #expect(got[labels[2]]?.contains { $0.timestamp >= 100_000 } ?? false)
            // The single-block case: a alone, as the tombstone rule of the planner would have it.
            let alone = try #require(try BlockCompactor.compact(directory: dir, blocks: [blocks[0]], sys: .system))
            let rewritten = try Block.open(directory: dir + "/" + alone.ulid.description, sys: .system)
            defer { rewritten.close() }
            #expect(try F.contents(rewritten) == F.model([a]))
            #expect(try F.contents(rewritten)[labels[0]] == nil, "a series with every sample deleted is dropped")
            #expect(alone.stats.numSeries == UInt64(F.model([a]).count))
        }
    }

    @Test func everythingDeletedWritesNoBlockAndMarksParentsDeletable() throws {
        var rng = SeededRandom(seed: 4)
        let labels = F.labels(5, using: &rng)
        try TemporaryDirectory.with { dir in
            var parents: [CompactionFixture.Parent] = []
            for i in 0..<2 {
                var p = F.randomParent(labels: labels, minTime: Int64(i) * 1000, maxTime: Int64(i + 1) * 1000, step: 50, using: &rng)
                for l in labels { p.deleted[l] = [TombstoneInterval(minTime: .min, maxTime: .max)] }
                parents.append(p)
            }
            let metas = try parents.map { try F.write($0, to: dir) }
            let blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
            #expect(try BlockCompactor.compact(directory: dir, blocks: blocks, sys: .system) == nil)
            #expect(try F.listing(dir) == metas.map(\.ulid.description).sorted())

            // Through the planner: each small block is wholly deleted, so it is rewritten alone.
            let step = try #require(try LeveledCompaction.runOnce(directory: dir, blocks: blocks, ranges: [1000, 3000, 9000], sys: .system))
            #expect(step.written == nil && step.compacted == [metas[0].ulid])
            #expect(try BlockMeta.read(blockDirectory: dir + "/" + metas[0].ulid.description, sys: .system).compaction.deletable)
            for b in blocks { b.close() }
            // The next open deletes it.
            let loaded = try BlockLoader.loadRemovingCovered(directory: dir, sys: .system)
            defer { for b in loaded.blocks { b.close() } }
            #expect(loaded.deleted == [metas[0].ulid])
            #expect(try F.listing(dir) == [metas[1].ulid.description])
        }
    }

    @Test func leveledStepsFollowThePlanAndLevelsGrow() throws {
        var rng = SeededRandom(seed: 5)
        let labels = F.labels(8, using: &rng)
        try TemporaryDirectory.with { dir in
            // Ranges 1 s, 3 s, 9 s; blocks of 1 s over [0, 10 s).
            var parents: [CompactionFixture.Parent] = []
            for i in 0..<10 {
                let p = F.randomParent(labels: labels, minTime: Int64(i) * 1000, maxTime: Int64(i + 1) * 1000, step: 100, using: &rng)
                try F.write(p, to: dir)
                parents.append(p)
            }
            var blocks = try BlockLoader.loadRemovingCovered(directory: dir, sys: .system).blocks
            defer { for b in blocks { b.close() } }
            var steps: [CompactionTool.Step] = []
            try CompactionTool.run(directory: dir, blocks: &blocks, ranges: [1000, 3000, 9000], sys: .system, onStep: { steps.append($0) })
            // [0,3) [3,6) [6,9) at level 2, then [0,9) at level 3; [9,10) stays (the newest).
            #expect(steps.map { $0.written.map { [$0.minTime, $0.maxTime, Int64($0.compaction.level)] } ?? [] }
                == [[0, 3000, 2], [3000, 6000, 2], [6000, 9000, 2], [0, 9000, 3]])
            #expect(blocks.map { [$0.meta.minTime, $0.meta.maxTime] } == [[0, 9000], [9000, 10_000]])
            #expect(blocks[0].meta.compaction.sources.count == 9)
            #expect(try F.listing(dir).count == 2, "parents deleted, nothing left over")
            var all: [Labels: [Sample]] = [:]
            for b in blocks { all.merge(try F.contents(b)) { $0 + $1 } }
            #expect(all == F.model(parents))
        }
    }

    @Test func randomBlocksCompactToTheModel() throws {
        var rng = SeededRandom.fromEnvironment()
        let seed = rng.seed
        for round in 0..<12 {
            let labels = F.labels(1 + Int(rng.next() % 30), using: &rng)
            try TemporaryDirectory.with { dir in
                var parents: [CompactionFixture.Parent] = []
                var start: Int64 = -5_000 + Int64(rng.next() % 10_000)
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let width = 1_000 + Int64(rng.next() % 60_000)
                    // Sometimes overlapping the previous block, sometimes with a gap.
                    let lo = start - (rng.next() % 3 == 0 ? Int64(rng.next() % UInt64(width)) : -Int64(rng.next() % 2_000))
                    var p = F.randomParent(labels: labels.filter { _ in rng.next() % 4 != 0 }, minTime: lo, maxTime: lo + width,
                                           step: 1 + Int64(rng.next() % 2_000), using: &rng)
                    for l in p.series.keys where rng.next() % 3 == 0 {
                        for _ in 0..<(1 + rng.next() % 3) {
                            let a = lo + Int64(rng.next() % UInt64(width))
                            p.deleted[l, default: []].append(TombstoneInterval(minTime: a, maxTime: a + Int64(rng.next() % UInt64(width / 2))))
                        }
                    }
                    if p.series.isEmpty { continue }
                    parents.append(p)
                    start = lo + width
                }
                guard !parents.isEmpty else { return }
                let metas = try parents.map { try F.write($0, to: dir) }
                let blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
                defer { for b in blocks { b.close() } }
                let model = F.model(parents)
                let context = "TSDB_TEST_SEED=\(seed), round \(round)"
                guard let meta = try BlockCompactor.compact(directory: dir, blocks: blocks, sys: .system) else {
                    #expect(model.isEmpty, "\(context): no block, but the model holds samples")
                    return
                }
                let child = try Block.open(directory: dir + "/" + meta.ulid.description, sys: .system)
                defer { child.close() }
                #expect(try F.contents(child) == model, "\(context)")
                #expect(meta.stats.numSamples == UInt64(model.values.reduce(0) { $0 + $1.count }), "\(context)")
                #expect(meta.stats.numSeries == UInt64(model.count), "\(context)")
                #expect(meta.minTime == parents.map(\.minTime).min() && meta.maxTime == parents.map(\.maxTime).max(), "\(context)")
            }
        }
    }
}
