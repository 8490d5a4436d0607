import Dispatch
import Foundation
import Synchronization
import Testing
import TSDBTestSupport

@_spi(Chunks) import TSDB

/// Appenders and queriers at once: every transaction writes one sample, at one timestamp, to
/// every series of its group, so a query that saw half a transaction would find the group's
/// series with different sample counts or last timestamps.
@Suite(.heavy) struct ConcurrencyTests {
    @Test func queriesNeverSeeHalfATransaction() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir)
            let groups = 4
            let perGroup = 50
            let transactions = 300
            let done = Atomic<Int>(0)
            let violations = Atomic<Int>(0)
            let queries = Atomic<Int>(0)
            // Real threads, so writers and readers truly overlap on any core count
            // (concurrentPerform runs only as many at once as there are cores).
            runThreads(groups + 2) { worker in
                if worker < groups {
                    let labels = (0..<perGroup).map { try! Labels(["__name__": "m", "group": "g\(worker)", "i": "\($0)"]) }
                    var refs = [SeriesRef?](repeating: nil, count: perGroup)
                    for k in 1...transactions {
                        var app = try! db.appender()
                        for (i, l) in labels.enumerated() {
                            if let r = refs[i] {
                                try! app.append(r, timestamp: Int64(k) * 1000, value: Double(k))
                            } else {
                                refs[i] = try! app.append(l, timestamp: Int64(k) * 1000, value: Double(k))
                            }
                        }
                        if k % 7 == 0 { app.rollback() } else { try! app.commit() }
                    }
                    done.add(1, ordering: .relaxed)
                } else {
                    while done.load(ordering: .relaxed) < groups {
                        let q = try! db.querier(minTime: .min, maxTime: .max)
                        for g in 0..<groups {
                            let series = try! q.select([.equal("group", "g\(g)")])
                            let shapes = Set(series.map { s -> [Int64] in
                                let samples = s.samples
                                return [Int64(samples.count), samples.last?.timestamp ?? -1]
                            })
                            if shapes.count > 1 || (!series.isEmpty && series.count != perGroup) {
                                violations.add(1, ordering: .relaxed)
                            }
                        }
                        queries.add(1, ordering: .relaxed)
                    }
                }
            }
            #expect(violations.load(ordering: .relaxed) == 0)
            #expect(queries.load(ordering: .relaxed) > 0)
            let final = try db.querier(minTime: .min, maxTime: .max).select("m")
            #expect(final.count == groups * perGroup)
            let committed = (1...transactions).filter { $0 % 7 != 0 }.count
            #expect(final.allSatisfy { $0.samples.count == committed })
        }
    }

    @Test func concurrentCreationOfTheSameSeriesYieldsOneSeries() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir)
            let refs = Locked<[UInt64]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                var app = try! db.appender()
                // One timestamp and value for all: a thread that appends after another one's
                // commit gets a duplicate, which is accepted (with its own timestamp it
                // could be out of order, and `try!` trapped the whole test run).
                let r = try! app.append(try! Labels(["__name__": "shared"]), timestamp: 0, value: 1)
                _ = try? app.commit()
                refs.withLock { $0.append(r.rawValue) }
            }
            #expect(Set(refs.withLock { $0 }).count == 1)
            #expect(db.headSeriesCount == 1)
        }
    }
}
