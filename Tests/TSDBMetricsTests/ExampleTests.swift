import Foundation
import Testing
import TSDBTestSupport

/// Runs the built `metrics-daemon-example` (Examples/MetricsDaemon) and checks that what it
/// reports about its own metrics is consistent.
@Suite(.blocking) struct MetricsDaemonExampleTests {
    @Test func theDaemonQueriesItsOwnMetrics() throws {
        let exe = try Products.path("metrics-daemon-example")
        let dir = try TemporaryDirectory("metrics-daemon")
        defer { dir.remove() }
        let output = try Command.run(exe, ["--path", dir.path + "/data", "--interval", "0.25", "--seconds", "1.5"])
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let eq = line.range(of: " = ") else { continue }
            values[String(line[..<eq.lowerBound])] = String(line[eq.upperBound...])
        }
        let rounds = try #require(values["rounds"].flatMap(Double.init))
        #expect(rounds > 10)
        // demo_loops_total, the timer's 14 series, the kilobytes counter, the gauge.
        #expect(values["series"] == "17")
        let window = "2s"
        let rate = try #require(values["sum(rate(demo_loops_total[\(window)]))"].flatMap(Double.init), "\(output)")
        // Over 1.5 s of work the extrapolated rate is near rounds / 1.5; be generous on a loaded machine.
        #expect(rate > 0 && rate < rounds * 4, "\(output)")
        let p90 = try #require(values[
            "histogram_quantile(0.9, sum by (le) (rate(demo_work_duration_seconds_bucket[\(window)])))"].flatMap(Double.init))
        // Each round sleeps 1-4 ms: the 90th percentile is a few milliseconds, within the buckets.
        #expect(p90 > 0.001 && p90 <= 10, "\(output)")
        #expect(values["sum(demo_work_duration_seconds_count)"].flatMap(Double.init) == rounds)
    }
}
