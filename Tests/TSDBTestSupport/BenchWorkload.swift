import Foundation
import TSDB

/// What `tsdb-bench write` ingests, recomputed independently of its code, for tests that
/// check a data directory it wrote (or was killed while writing).
public enum BenchWorkload {
    /// Series per shard; shards are numbered from 0 in file order, the last may be smaller.
    public static let shardSize = 1_000
    /// Milliseconds between scrapes; scrape k (from 0) is at `interval·(k+1)`.
    public static let interval: Int64 = 30_000

    /// Timestamp of scrape `k`, counted from 0.
    public static func timestamp(scrape k: Int) -> Int64 { interval * Int64(k + 1) }

    /// The value every series has at scrape `k`: promtool's counter restarts every 100 scrapes.
    public static func value(scrape k: Int) -> Double { 123_456_789 + 1_000 * Double(k % 100 + 1) }

    /// The scrape a timestamp belongs to, or nil for a timestamp no scrape has.
    public static func scrape(at timestamp: Int64) -> Int? {
        guard timestamp > 0, timestamp % interval == 0 else { return nil }
        return Int(timestamp / interval) - 1
    }

    /// Series indices of shard `shard` among `count` series.
    public static func shardRange(_ shard: Int, count: Int) -> Range<Int> {
        (shard * shardSize)..<min(shard * shardSize + shardSize, count)
    }

    public static func shardCount(series count: Int) -> Int { (count + shardSize - 1) / shardSize }

    /// The first `limit` unique label sets of a file with one flat JSON object per line:
    /// blank lines are skipped and a repeated set counts once, as promtool does.
    public static func labelSets(_ path: String, limit: Int) throws -> [Labels] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(description: "cannot read \(path)")
        }
        var seen = Set<Labels>()
        var out: [Labels] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where out.count < limit {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0d }) { continue }
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: String] else {
                throw CommandFailure(description: "\(path): a line is not a flat JSON object of strings")
            }
            let labels = try Labels(object)
            if seen.insert(labels).inserted { out.append(labels) }
        }
        return out
    }
}
