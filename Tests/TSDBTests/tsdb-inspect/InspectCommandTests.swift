import Foundation
import Testing
import TSDBTestSupport

/// `tsdb-inspect` as a user runs it.
@Suite(.heavy) struct InspectCommandTests {
    @Test func decodesAPromtoolChunk() throws {
        let vector = try #require(try ChunkVector.load().chunks.first { $0.labels["__name__"] == "fx_special_values" })
        let out = try Command.run(try Products.path("tsdb-inspect"), ["decode-chunk", hexString(vector.bytes)])
        let lines = out.split(separator: "\n")
        #expect(lines.first == "encoding: XOR, \(vector.bytes.count) bytes, \(vector.samples.count) samples in header")
        let decoded = lines.dropFirst().map { line -> (Int64, UInt64) in
            let f = line.split(separator: "\t")
            return (Int64(f[0])!, UInt64(f[2].dropFirst(2), radix: 16)!)
        }
        #expect(decoded.map(\.0) == vector.samples.map(\.0))
        #expect(decoded.map(\.1) == vector.samples.map(\.1), "value bits, NaN payloads included")
    }

    @Test func damagedChunkIsAnErrorWithItsOffset() throws {
        let result = try Command.runStatus(try Products.path("tsdb-inspect"), ["decode-chunk", "0005ff"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("corruption") && result.stderr.contains("offset"), "\(result.stderr)")
        let odd = try Command.runStatus(try Products.path("tsdb-inspect"), ["decode-chunk", "abc"])
        #expect(odd.status != 0 && odd.stderr.contains("odd number of digits"), "\(odd.stderr)")
    }

    @Test func parsesSelectorsAndPointsAtErrors() throws {
        let tool = try Products.path("tsdb-inspect")
        let out = try Command.run(tool, ["parse-selector", #"http_requests_total{job="api", code=~"5.."}"#])
        #expect(out == "__name__=\"http_requests_total\"\njob=\"api\"\ncode=~\"5..\"\n")
        let bad = try Command.runStatus(tool, ["parse-selector", #"up{job="a" x="b"}"#])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("column 12"))
        #expect(bad.stderr.contains("\n             ^"), "caret under column 12: \(bad.stderr)")
    }
}
