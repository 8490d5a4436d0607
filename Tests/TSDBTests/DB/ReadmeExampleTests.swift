import Testing
import TSDBTestSupport

import TSDB

/// The README's example, verbatim apart from the directory, so it cannot rot.
@Suite(.heavy) struct ReadmeExampleTests {
    @Test func readmeExampleRuns() throws {
        try TemporaryDirectory.with { dir in
            // --- README example begins ---
            let db = try DB.open(directory: dir)
            var app = try db.appender()
            let ref = try app.append(try Labels(["__name__": "http_requests_total", "job": "api"]), timestamp: 1_000, value: 1)
            try app.append(ref, timestamp: 16_000, value: 2)  // fast path: no label hashing
            try app.commit()  // consumes `app`: using it again is a compile-time error

            let querier = try db.querier(minTime: 0, maxTime: 60_000)
            for series in try querier.select(#"http_requests_total{job=~"api|web"}"#) {
                print(series.labels, series.samples)  // {__name__="http_requests_total", job="api"} [1.0 @1000, 2.0 @16000]
            }
            // (not in the README: check what the loop printed)
            let got = try querier.select(#"http_requests_total{job=~"api|web"}"#)
            #expect(got.count == 1)
            #expect(got.first?.samples == [Sample(timestamp: 1_000, value: 1), Sample(timestamp: 16_000, value: 2)])
            #expect("\(got[0].labels)" == #"{__name__="http_requests_total", job="api"}"#)
            #expect("\(got[0].samples)" == "[1.0 @1000, 2.0 @16000]")
            try db.close()
            // --- README example ends ---
        }
    }
}
