import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

#if canImport(Glibc)
import Glibc
#endif

/// Failures part-way through a compaction, what the loader does with the directory
/// afterwards, and what Prometheus's own tools say about a compacted block.
@Suite(.heavy) struct BlockCompactorFaultTests {
    typealias F = CompactionFixture

    /// Three adjacent parents and one overlapping the middle one, written into `dir`.
    static func parents(in dir: String, seed: UInt64) throws -> (parents: [CompactionFixture.Parent], metas: [BlockMeta]) {
        var rng = SeededRandom(seed: seed)
        let labels = F.labels(60, using: &rng)
        var parents = (0..<3).map { i in
            F.randomParent(labels: labels, minTime: Int64(i) * 200_000, maxTime: Int64(i + 1) * 200_000, step: 400, using: &rng)
        }
        parents.append(F.randomParent(labels: Array(labels.prefix(20)), minTime: 300_000, maxTime: 350_000, step: 250, using: &rng))
        parents[0].deleted[labels[3]] = [TombstoneInterval(minTime: 10_000, maxTime: 90_000)]
        return (parents, try parents.map { try F.write($0, to: dir) })
    }

    /// ENOSPC from the n-th write(2) on, then a failing fsync, mkdir, rename: every time the
    /// compaction throws, and the directory holds the parents and nothing else.
    @Test func failurePartWayLeavesNothingBehind() throws {
        try TemporaryDirectory.with { dir in
            let (_, metas) = try Self.parents(in: dir, seed: 7)
            let before = try F.listing(dir)
            let blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
            defer { for b in blocks { b.close() } }

            // Count the writes a successful compaction makes, into a scratch directory.
            let writes = Locked(0)
            var counting = Syscalls.system
            counting.write = { fd, bytes in
                writes.withLock { $0 += 1 }
                return Syscalls.system.write(fd, bytes)
            }
            try TemporaryDirectory.with { scratch in
                _ = try BlockCompactor.compact(directory: scratch, blocks: blocks, sys: counting, segmentSize: 64 * 1024)
            }
            let total = writes.withLock { $0 }
            #expect(total > 8, "a few segments, the index, meta.json, tombstones")

            var faults: [(String, Syscalls)] = []
            for n in Set([1, 2, 3, total / 4, total / 2, total - 2, total - 1, total]) where n >= 1 {
                let count = Locked(0)
                var sys = Syscalls.system
                sys.write = { fd, bytes in
                    let k: Int = count.withLock { $0 += 1; return $0 }
                    return k >= n ? -Int(ENOSPC) : Syscalls.system.write(fd, bytes)
                }
                faults.append(("ENOSPC from write \(n) of \(total)", sys))
            }
            var sys = Syscalls.system
            sys.fdatasync = { _ in -EIO }
            sys.fsync = sys.fdatasync  // directories too, as one count
            faults.append(("fsync EIO", sys))
            sys = .system
            sys.mkdir = { _, _ in -ENOSPC }
            faults.append(("mkdir ENOSPC", sys))
            sys = .system
            sys.rename = { from, to in from.hasSuffix(".tmp-for-creation") ? -EIO : Syscalls.system.rename(from, to) }
            faults.append(("rename EIO", sys))
            sys = .system
            // The parent directory's fsync after the rename: the new block must go again.
            let renamed = Locked(false)
            sys.rename = { from, to in
                let r = Syscalls.system.rename(from, to)
                if from.hasSuffix(".tmp-for-creation") { renamed.withLock { $0 = true } }
                return r
            }
            sys.fdatasync = { fd in renamed.withLock { $0 } ? -EIO : Syscalls.system.fsync(fd) }
            sys.fsync = sys.fdatasync  // directories too, as one count
            faults.append(("fsync of the data directory after the rename", sys))

            for (name, sys) in faults {
                do {
                    _ = try BlockCompactor.compact(directory: dir, blocks: blocks, sys: sys, segmentSize: 64 * 1024)
                    Issue.record("\(name): the compaction did not fail")
                } catch {
                    #expect((error as? TSDBError)?.code == .io, "\(name): \(error)")
                }
                #expect(try F.listing(dir) == before, "\(name)")
            }
            // The parents are intact and a compaction works afterwards.
            let meta = try #require(try BlockCompactor.compact(directory: dir, blocks: blocks, sys: .system))
            #expect(try F.listing(dir).count == before.count + 1 && meta.compaction.parents.count == 4)
        }
    }

    @Test func loaderDeletesParentsOfALoadedChild() throws {
        try TemporaryDirectory.with { dir in
            let (parents, metas) = try Self.parents(in: dir, seed: 8)
            let blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
            let child = try #require(try BlockCompactor.compact(directory: dir, blocks: Array(blocks.prefix(2)), sys: .system))
            for b in blocks { b.close() }
            // What a crash between the rename and the deletions leaves: parents and child.
            // Read-only: left out, not deleted.
            let readOnly = try BlockLoader.loadRemovingCovered(directory: dir, sys: .system, readOnly: true)
            #expect(Set(readOnly.deleted) == Set(metas.prefix(2).map(\.ulid)))
            #expect(try F.listing(dir).count == 5)
            for b in readOnly.blocks { b.close() }

            let loaded = try BlockLoader.loadRemovingCovered(directory: dir, sys: .system)
            defer { for b in loaded.blocks { b.close() } }
            #expect(Set(loaded.deleted) == Set(metas.prefix(2).map(\.ulid)))
            #expect(loaded.notes.contains { $0.contains("its data is in block \(child.ulid)") }, "\(loaded.notes)")
            #expect(try F.listing(dir) == [child.ulid, metas[2].ulid, metas[3].ulid].map(\.description).sorted())
            var all: [Labels: [Sample]] = [:]
            for b in loaded.blocks {
                for (l, s) in try F.contents(b) { all[l, default: []] += s }
            }
            #expect(all.mapValues { Dictionary($0.map { ($0.timestamp, $0) }) { a, _ in a }.values.sorted { $0.timestamp < $1.timestamp } }
                == F.model(parents))
        }
    }

    @Test func loaderDeletesADamagedParentButNotADamagedOrphan() throws {
        try TemporaryDirectory.with { dir in
            let (_, metas) = try Self.parents(in: dir, seed: 9)
            let blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
            _ = try #require(try BlockCompactor.compact(directory: dir, blocks: [blocks[0]], sys: .system))
            for b in blocks { b.close() }
            // Damage parent 0 (covered) then parent 1 (not covered).
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/" + metas[0].ulid.description + "/index"))
            let loaded = try BlockLoader.loadRemovingCovered(directory: dir, sys: .system)
            #expect(loaded.deleted == [metas[0].ulid])
            for b in loaded.blocks { b.close() }
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/" + metas[1].ulid.description + "/index"))
            #expect(throws: TSDBError.self) { try BlockLoader.loadRemovingCovered(directory: dir, sys: .system) }
            #expect(FileManager.default.fileExists(atPath: dir + "/" + metas[1].ulid.description))
        }
    }

    /// A parent listed by a child is kept if it holds sources nothing else has (a malformed
    /// meta must not make data disappear).
    @Test func loaderKeepsAParentWhoseSourcesWouldBeLost() throws {
        try TemporaryDirectory.with { dir in
            let (_, metas) = try Self.parents(in: dir, seed: 10)
            // Claim parent 0 as a parent of block 1 without holding its data.
            var forged = metas[1]
            forged.compaction.parents = [.init(ulid: metas[0].ulid, minTime: metas[0].minTime, maxTime: metas[0].maxTime)]
            try forged.write(blockDirectory: dir + "/" + metas[1].ulid.description, sys: .system)
            let loaded = try BlockLoader.loadRemovingCovered(directory: dir, sys: .system)
            defer { for b in loaded.blocks { b.close() } }
            #expect(loaded.deleted.isEmpty)
            #expect(loaded.blocks.count == 4)
            #expect(loaded.notes.contains { $0.contains("kept") })
        }
    }

    /// `promtool tsdb dump` of a directory holding only the compacted block prints what our
    /// query returns, and `promtool tsdb analyze` reads it.
    @Test(.enabled(if: Promtool.isAvailable)) func promtoolReadsTheCompactedBlock() throws {
        try TemporaryDirectory.with { dir in
            let (parents, metas) = try Self.parents(in: dir, seed: 11)
            var blocks = try metas.map { try Block.open(directory: dir + "/" + $0.ulid.description, sys: .system) }
            let meta = try #require(try BlockCompactor.compact(directory: dir, blocks: blocks, sys: .system))
            for b in blocks { b.close() }
            for m in metas { try LeveledCompaction.deleteBlock(directory: dir, ulid: m.ulid, sys: .system) }
            let child = try Block.open(directory: dir + "/" + meta.ulid.description, sys: .system)
            blocks = [child]
            defer { child.close() }
            let ours = try child.select(F.all, minTime: .min, maxTime: .max)
            #expect(Dictionary(uniqueKeysWithValues: ours.map { ($0.labels, $0.samples) }) == F.model(parents))
            PromtoolDump.expectEqual(try PromtoolDump.run(dir), PromtoolDump.samples(of: ours), "promtool dump of a compacted block")
            let analysis = try Promtool.run(["tsdb", "analyze", dir, meta.ulid.description])
            #expect(analysis.contains("Block ID: \(meta.ulid)"), "\(analysis)")
            #expect(analysis.contains("Series: \(meta.stats.numSeries)"), "\(analysis)")
            let list = try Promtool.run(["tsdb", "list", dir])
            #expect(list.contains(meta.ulid.description) && list.contains("\(meta.stats.numSamples)"), "\(list)")
        }
    }
}
