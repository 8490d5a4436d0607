import Foundation
import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

/// A block deletion that fails part-way (a rename, a directory fsync or a removal) used to
/// leave the block on disk, out of the database's set and so uncounted by size retention,
/// until a restart; in a merge the parents after it were not even tried.
@Suite(.heavy) struct BlockDeletionFaultTests {
    @Test(arguments: [
        (FaultySyscalls.Operation.rename, "<ulid> → <ulid>.tmp-for-deletion"),
        (.fsync, "."),
        (.unlink, "<ulid>.tmp-for-deletion/index"),
    ])
    func failedDeletionIsFinishedByTheNextRound(_ operation: FaultySyscalls.Operation, _ path: String) throws {
        let base = try TemporaryDirectory("deletion-fault")
        defer { base.remove() }
        let data = base.path + "/data"
        let faulty = FaultySyscalls()
        faulty.reset(roots: [(data, ""), (base.path, "base:")])
        var db: DB?
        var model = FaultWorkload.Model()
        defer { try? db?.close() }
        // Up to the round that merges three blocks and deletes them.
        for step in FaultWorkload.steps {
            if case .compact("head cut, merge") = step {
                faulty.phase = "merge"
                // The fsync of the data directory comes after the head cut's block too:
                // fail the one after the first parent's rename.
                faulty.arm(.init(phase: "merge", operation: operation, path: path), .failedOther, nth: operation == .fsync ? 3 : 1)
                #expect(throws: TSDBError.self) { try db!.compact() }
                #expect(faulty.fired != nil)
                faulty.disarm()
                break
            }
            faulty.phase = step.phase
            try FaultWorkload.perform(step, db: &db, model: &model, directory: data, snapshot: base.path + "/snap", sys: faulty.syscalls)
        }
        func stray() -> [String] {
            var names: [String] = []
            _ = Syscalls.system.listDirectory(data, &names)
            let served = Set(db!.blocks.map(\.ulid.description))
            return names.filter { ($0.count == 26 && ULID($0) != nil && !served.contains($0)) || $0.contains(".tmp-for-") }.sorted()
        }
        #expect(stray().count >= 1, "the failed deletion left its block")
        try db!.compact()
        #expect(stray() == [], "the next round deletes what the failed one left")
        #expect(model.problems(in: db!) == [])
    }
}
