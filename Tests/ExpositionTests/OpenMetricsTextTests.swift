import Testing
import Exposition
import TSDB
import TSDBTestSupport

/// The OpenMetrics writer: what it writes reads back exactly.
@Suite(.heavy) struct OpenMetricsTextTests {
    @Test func openMetricsTimestampsReadBackExactly() {
        var rng = SeededRandom.fromEnvironment()
        for i in 0..<100_000 {
            let ms: Int64 = i < 50_000 ? 1_700_000_000_000 + Int64(i) : Int64.random(in: -4_000_000_000_000...4_000_000_000_000, using: &rng)
            var out: [UInt8] = []
            OpenMetricsText.appendTimestamp(milliseconds: ms, to: &out)
            let seconds = Double(String(decoding: out, as: UTF8.self))!
            #expect(Int64(seconds * 1000) == ms, "seed \(rng.seed): \(ms) written as \(String(decoding: out, as: UTF8.self))")
        }
    }

    @Test func seriesPrefixEscapesLabelValues() throws {
        let ls = try Labels(["__name__": "up", "job": "a\\b", "path": "q\"x\"\nz"])
        #expect(ls.openMetricsPrefix == #"up{job="a\\b",path="q\"x\"\nz"}"#)
        #expect(try Labels(["__name__": "up"]).openMetricsPrefix == "up")
        #expect(try Labels(["job": "a"]).openMetricsPrefix == nil)
    }
}
