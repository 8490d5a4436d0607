import Testing
import TSDBTestSupport
import Exposition
import TSDBTools

/// promtool's columns, checked against outputs of Go 1.19's `time` and `text/tabwriter`.
@Suite(.heavy) struct GoFormatPromtoolTests {
    @Test(arguments: [
        (Int64(7_200_000), "2h0m0s"), (6_391_990, "1h46m31.99s"), (1, "1ms"), (0, "0s"), (90_500, "1m30.5s"),
        (-1_500, "-1.5s"), (59_999, "59.999s"), (3_600_001, "1h0m0.001s"),
    ])
    func durationsAsGoPrintsThem(_ ms: Int64, _ expected: String) {
        #expect(GoFormat.duration(milliseconds: ms) == expected)
    }

    @Test func subSecondDurations() {
        #expect(GoFormat.duration(nanoseconds: 1_500) == "1.5µs")
        #expect(GoFormat.duration(nanoseconds: 999) == "999ns")
        #expect(GoFormat.duration(nanoseconds: 2_000_000) == "2ms")
    }

    @Test func sizesAndTimes() {
        #expect(GoFormat.base2Bytes(6_632_418) == "6MiB332KiB994B")
        #expect(GoFormat.base2Bytes(0) == "0B")
        #expect(GoFormat.base2Bytes(2048) == "2KiB")
        #expect(GoFormat.utcTime(milliseconds: 1_700_000_000_123) == "2023-11-14 22:13:20 +0000 UTC")
        #expect(GoFormat.utcTime(milliseconds: 0) == "1970-01-01 00:00:00 +0000 UTC")
    }

    @Test func tableAsTabwriterPads() {
        let t = GoFormat.table([["A", "BB", "last"], ["longer cell here", "x", "y"]])
        #expect(t == "A                 BB           last\nlonger cell here  x            y\n")
    }
}
