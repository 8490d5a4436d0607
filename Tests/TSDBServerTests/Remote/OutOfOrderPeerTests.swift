import Foundation
import Testing
import TSDB
import TSDBTestSupport

/// A Prometheus 2.42 with `out_of_order_time_window` writes late samples to `wbl/` and, once
/// 32 of a series are buffered, to `chunks_head/` with encoding 0x81. This engine does not
/// read them yet: opening such a directory must say so, naming what it leaves unread, and
/// serve everything in order as before.
@Suite(.blocking) struct OutOfOrderPeerTests {
    @Test(.enabled(if: PrometheusServer.isAvailable)) func unreadOutOfOrderDataIsReported() async throws {
        let work = try TemporaryDirectory("ooo-peer")
        defer { work.remove() }
        let data = work.path + "/data"
        let prometheus = try PrometheusServer.start(
            directory: data, work: work.path, arguments: ["--web.enable-remote-write-receiver"],
            config: "global: {}\nstorage:\n  tsdb:\n    out_of_order_time_window: 1h\n")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let labels = [("__name__", "late_metric"), ("job", "batch")]
        // In order first, then 40 samples minutes late: 32 make a 0x81 chunk, 8 stay in wbl/.
        let inOrder = (0..<10).map { (now - 60_000 + Int64($0) * 1000, Double($0)) }
        let late = (0..<40).map { (now - 1_800_000 + Int64($0) * 15_000, Double(100 + $0)) }
        do {
            let a = try await Remote.post(prometheus.base + "/api/v1/write", try Remote.body([Remote.series(labels, inOrder)]))
            #expect(a.status == 204, "\(a.body)")
            let b = try await Remote.post(prometheus.base + "/api/v1/write", try Remote.body([Remote.series(labels, late)]))
            #expect(b.status == 204, "\(b.body)")
        } catch {
            prometheus.stop()
            throw error
        }
        prometheus.stop()
        var options = Options()
        options.compactionEnabled = false
        let db = try DB.open(directory: data, options: options)
        defer { try? db.close() }
        let notes = db.replayStats.notes.joined(separator: "\n")
        #expect(notes.contains("wbl holds"), "\(notes)")
        #expect(notes.contains("out-of-order chunk(s) (encoding 0x81"), "\(notes)")
        // The in-order samples are all there.
        let series = try db.querier(minTime: now - 3_600_000, maxTime: now + 60_000).select([try Matcher(.equal, "job", "batch")])
        let samples = series.flatMap { $0.samples }
        #expect(samples.filter { $0.timestamp >= now - 60_000 }.count == inOrder.count, "\(samples.count)")
    }
}
