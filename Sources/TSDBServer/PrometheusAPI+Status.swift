import Foundation
import TSDB

extension PrometheusAPI {
    func buildInfo() -> APIResponse {
        let b = configuration.buildInfo
        return .success { w in
            w.raw(#"{"version":"#); w.string(b.version)
            w.raw(#","revision":"#); w.string(b.revision)
            w.raw(#","branch":"#); w.string(b.branch)
            w.raw(#","buildUser":"#); w.string(b.buildUser)
            w.raw(#","buildDate":"#); w.string(b.buildDate)
            w.raw(#","goVersion":"#); w.string(b.goVersion)
            w.byte(0x7D)
        }
    }

    func runtimeInfo() -> APIResponse {
        let cwd = FileManager.default.currentDirectoryPath
        let start = TimeParsing.formatRFC3339(startTime)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threads = Self.threadCount()
        let retention = configuration.storageRetention
        return .success { w in
            w.raw(#"{"startTime":"#); w.string(start)
            w.raw(#","CWD":"#); w.string(cwd)
            w.raw(#","reloadConfigSuccess":true,"lastConfigTime":"#); w.string(start)
            w.raw(#","corruptionCount":0,"goroutineCount":"#); w.int(threads)
            w.raw(#","GOMAXPROCS":"#); w.int(cores)
            w.raw(#","GOGC":"","GODEBUG":"","storageRetention":"#); w.string(retention)
            w.byte(0x7D)
        }
    }

    /// Threads of this process (what stands for goroutines), from /proc.
    static func threadCount() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
            return Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    func flags() -> APIResponse {
        let flags = configuration.flags.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return .success { w in
            w.byte(0x7B)
            for (i, kv) in flags.enumerated() {
                if i > 0 { w.byte(0x2C) }
                w.string(kv.key)
                w.byte(0x3A)
                w.string(kv.value)
            }
            w.byte(0x7D)
        }
    }

    /// `/api/v1/status/tsdb`: the head's statistics and its top-10 cardinalities, computed
    /// as Prometheus's `MemPostings.Stats("__name__")` computes them.
    func tsdbStatus() async -> APIResponse {
        await runBlocking { [self] () -> APIResponse in
            let numSeries = db.headSeriesCount
            let range = db.headTimeRange
            var postings: [String: [String: UInt64]] = [:]
            let chunkCount = Int64(db.headChunkCount)
            if let range {
                do {
                    let q = try db.querier(minTime: range.lowerBound, maxTime: range.upperBound)
                    // Every series has a metric name in practice; `.+` selects them all.
                    for s in try q.select([try Matcher(.regexMatch, "__name__", ".+")]) {
                        for l in s.labels { postings[l.name, default: [:]][l.value, default: 0] += 1 }
                    }
                } catch {
                    return .error(.internal, "\(error)")
                }
            }
            var byMetric: [(String, UInt64)] = []
            var valueCounts: [(String, UInt64)] = []
            var memory: [(String, UInt64)] = []
            var pairs: [(String, UInt64)] = []
            var numLabelPairs = 0
            for (name, values) in postings {
                valueCounts.append((name, UInt64(values.count)))
                numLabelPairs += values.count
                var size: UInt64 = 0
                for (value, count) in values {
                    if name == "__name__" { byMetric.append((value, count)) }
                    pairs.append((name + "=" + value, count))
                    size += UInt64(value.utf8.count) * count
                }
                memory.append((name, size))
            }
            func top(_ items: [(String, UInt64)]) -> [(String, UInt64)] {
                Array(items.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }.prefix(10))
            }
            func stats(_ items: [(String, UInt64)], _ w: inout JSONWriter) {
                w.byte(0x5B)
                for (i, s) in top(items).enumerated() {
                    if i > 0 { w.byte(0x2C) }
                    w.raw(#"{"name":"#)
                    w.string(s.0)
                    w.raw(#","value":"#)
                    w.int(Int64(clamping: s.1))
                    w.byte(0x7D)
                }
                w.byte(0x5D)
            }
            return .success { w in
                w.raw(#"{"headStats":{"numSeries":"#); w.int(numSeries)
                w.raw(#","numLabelPairs":"#); w.int(numLabelPairs)
                w.raw(#","chunkCount":"#); w.int(chunkCount)
                w.raw(#","minTime":"#); w.int(range?.lowerBound ?? Int64.max)
                w.raw(#","maxTime":"#); w.int(range?.upperBound ?? Int64.min)
                w.raw(#"},"seriesCountByMetricName":"#); stats(byMetric, &w)
                w.raw(#","labelValueCountByLabelName":"#); stats(valueCounts, &w)
                w.raw(#","memoryInBytesByLabelName":"#); stats(memory, &w)
                w.raw(#","seriesCountByLabelValuePair":"#); stats(pairs, &w)
                w.byte(0x7D)
            }
        }
    }
}
