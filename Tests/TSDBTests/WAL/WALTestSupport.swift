import Foundation
import Synchronization
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Helpers shared by the WAL test suites.
enum WALTest {
    static let page = 32 * 1024

    static func segmentPath(_ dir: String, _ index: Int) -> String { dir + "/" + WALFormat.segmentName(index) }

    /// Segment files in `dir`, by index.
    static func segments(_ dir: String) throws -> [Int: [UInt8]] {
        var out: [Int: [UInt8]] = [:]
        for index in try WALFormat.segments(in: dir, sys: .system) { out[index] = try TestFiles.read(segmentPath(dir, index)) }
        return out
    }

    /// Every record of one segment, through `SegmentReader`; damage is a test failure.
    static func records(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var reader = SegmentReader(bytes: bytes, path: "segment")
        var out: [[UInt8]] = []
        while let (record, _) = try reader.next() { out.append(record) }
        return out
    }

    /// Deterministic bytes that do not compress.
    static func randomBytes(_ count: Int, _ rng: inout SeededRandom) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count { withUnsafeBytes(of: rng.next()) { out.append(contentsOf: $0) } }
        return Array(out.prefix(count))
    }

    /// Bytes that compress well.
    static func textBytes(_ count: Int, seed: Int = 0) -> [UInt8] {
        var out = [UInt8]()
        var i = seed
        while out.count < count {
            out.append(contentsOf: "node_cpu_seconds_total{cpu=\"\(i % 64)\",mode=\"idle\"} \(i * 7)\n".utf8)
            i += 1
        }
        return Array(out.prefix(count))
    }

    static func header(_ bytes: [UInt8], at offset: Int) -> (type: UInt8, length: Int, crc: UInt32) {
        (bytes[offset], Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]),
         UInt32(bytes[offset + 3]) << 24 | UInt32(bytes[offset + 4]) << 16 | UInt32(bytes[offset + 5]) << 8 | UInt32(bytes[offset + 6]))
    }

    /// The segments Prometheus's `wlog.WL` writes for uncompressed `batches` (each logged with
    /// one `Log` call) and then `Close`, written from `wlog.go`'s `log`, `flushPage` and
    /// `nextSegment` without looking at the Swift writer.
    static func prometheusLayout(_ batches: [[[UInt8]]], pagesPerSegment: Int) -> [[UInt8]] {
        var segments: [[UInt8]] = [[]]
        var page: [UInt8] = []
        var donePages = 0
        func finishPage() {
            segments[segments.count - 1] += page + [UInt8](repeating: 0, count: Self.page - page.count)
            page = []
            donePages += 1
        }
        for batch in batches {
            for record in batch {
                if Self.page - page.count < 7 { finishPage() }
                let left = (Self.page - page.count - 7) + (Self.page - 7) * (pagesPerSegment - donePages - 1)
                if record.count > left {
                    if !page.isEmpty { finishPage() }
                    segments.append([])
                    donePages = 0
                }
                var rest = record[...]
                var i = 0
                repeat {
                    let n = min(rest.count, Self.page - page.count - 7)
                    let part = Array(rest.prefix(n))
                    let type: UInt8 = i == 0 && n == rest.count ? 1 : (n == rest.count ? 4 : (i == 0 ? 2 : 3))
                    let crc = CRC32C.checksum(part)
                    page += [type, UInt8(n >> 8), UInt8(n & 0xff), UInt8(crc >> 24), UInt8((crc >> 16) & 0xff), UInt8((crc >> 8) & 0xff), UInt8(crc & 0xff)] + part
                    if Self.page - page.count < 7 { finishPage() }
                    rest = rest.dropFirst(n)
                    i += 1
                } while !rest.isEmpty
            }
        }
        if !page.isEmpty { finishPage() }
        return segments
    }
}

/// A workload of commits against a `DB`, and the check that a reopened `DB` holds exactly
/// the commits that should have survived. Commit `k` (1-based) writes one sample at
/// timestamp `k * 1000` to each of `seriesCount` series, with random values.
struct CommitLog {
    let seriesCount: Int
    var labels: [Labels]
    /// Values of each commit, one per series.
    var values: [Int: [Double]] = [:]
    /// WAL position before and after each successful commit.
    var spans: [Int: (start: (segment: Int, offset: Int), end: (segment: Int, offset: Int))] = [:]
    var rng: SeededRandom

    init(seriesCount: Int, rng: SeededRandom) throws {
        self.seriesCount = seriesCount
        labels = try (0..<seriesCount).map { try Labels(["__name__": "m", "i": String($0)]) }
        self.rng = rng
    }

    /// Commits number `k`; returns the error if the commit failed (nothing is recorded then).
    @discardableResult
    mutating func commit(_ k: Int, to db: DB) -> TSDBError? {
        let values = (0..<seriesCount).map { _ in InterestingValues.random(using: &rng) }
        let start = db.wal!.position
        do {
            var app = try db.appender()
            for (i, l) in labels.enumerated() { try app.append(l, timestamp: Int64(k) * 1000, value: values[i]) }
            try app.commit()
        } catch {
            return error
        }
        self.values[k] = values
        spans[k] = (start, db.wal!.position)
        return nil
    }

    /// The commits whose samples `db` holds, checking every value bit for bit; a commit
    /// present in some series but not in others is reported as `-k`.
    func committed(in db: DB) throws -> [Int] {
        let series = try db.querier(minTime: .min, maxTime: .max).select("m")
        var byLabels: [Labels: [Int64: UInt64]] = [:]
        for s in series { byLabels[s.labels] = Dictionary(s.samples.map { ($0.timestamp, $0.value.bitPattern) }, uniquingKeysWith: { a, _ in a }) }
        var present: Set<Int> = []
        var partial: Set<Int> = []
        let timestamps = Set(byLabels.values.flatMap(\.keys))
        for t in timestamps {
            let k = Int(t / 1000)
            guard t % 1000 == 0, let expected = values[k] else { partial.insert(k); continue }
            let matches = labels.indices.filter { byLabels[labels[$0]]?[t] == expected[$0].bitPattern }
            if matches.count == seriesCount { present.insert(k) } else { partial.insert(k) }
        }
        return present.sorted() + partial.sorted().map { -$0 }
    }
}
