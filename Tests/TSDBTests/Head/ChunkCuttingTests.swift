import Testing
import TSDBTestSupport

@testable import TSDB

@Suite struct ChunkCuttingTests {
    func headChunks(_ db: DB, _ labels: Labels) -> [HeadChunk] {
        db.head.series.get(labels)?.state.withLock { $0.chunks(minTime: .min, maxTime: .max) } ?? []
    }

    @Test func thirtySecondScrapesMakeChunksOf120() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir)
            let l = try Labels(["__name__": "m"])
            for i in 0..<1000 {
                var app = try db.appender()
                try app.append(l, timestamp: Int64(i + 1) * 30_000, value: Double(i))
                try app.commit()
            }
            let chunks = headChunks(db, l)
            #expect(chunks.dropLast().allSatisfy { $0.chunk.count == 120 })
            // No chunk crosses a 2 h boundary.
            for c in chunks { #expect(c.minTime / 7_200_000 == c.maxTime / 7_200_000) }
            #expect(chunks.reduce(0) { $0 + ($1.chunk.count ?? 0) } == 1000)
        }
    }

    @Test func denseSamplesCutAtTwiceTheTargetOrOneKilobyte() throws {
        try TemporaryDirectory.with { dir in
            let db = try DB.open(directory: dir)
            let steady = try Labels(["__name__": "steady"])
            let noisy = try Labels(["__name__": "noisy"])
            var rng = SeededRandom(seed: 3)
            for i in 0..<2000 {
                var app = try db.appender()
                try app.append(steady, timestamp: Int64(i), value: 1)
                try app.append(noisy, timestamp: Int64(i), value: Double(bitPattern: rng.next()))
                try app.commit()
            }
            #expect(headChunks(db, steady).dropLast().allSatisfy { $0.chunk.count == 240 })
            #expect(headChunks(db, noisy).allSatisfy { $0.chunk.bytes.count <= 1024 })
        }
    }

    /// promtool builds blocks through the same head logic; appending each series' samples
    /// must reproduce its chunks byte for byte, boundaries included.
    @Test func reproducesPromtoolChunkBoundariesAndBytes() throws {
        let vectors = try ChunkVector.load().chunks
        var bySeries: [[String: String]: [ChunkVector]] = [:]
        var order: [[String: String]] = []
        for v in vectors {
            if bySeries[v.labels] == nil { order.append(v.labels) }
            bySeries[v.labels, default: []].append(v)
        }
        for labelsDict in order {
            let expected = bySeries[labelsDict]!.sorted { $0.minTime < $1.minTime }
            try TemporaryDirectory.with { dir in
                let db = try DB.open(directory: dir)
                let labels = try Labels(labelsDict)
                for v in expected {
                    for (t, bits) in v.samples {
                        var app = try db.appender()
                        try app.append(labels, timestamp: t, value: Double(bitPattern: bits))
                        try app.commit()
                    }
                }
                let got = headChunks(db, labels)
                #expect(got.map(\.minTime) == expected.map(\.minTime), "\(labels)")
                #expect(got.map { hexString($0.chunk.bytes) } == expected.map { hexString($0.bytes) }, "\(labels)")
            }
        }
    }
}
