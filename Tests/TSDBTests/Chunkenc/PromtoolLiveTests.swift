import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Runs the installed promtool now (CI installs Debian's `prometheus`), rather than trusting
/// the checked-in vectors alone: every XOR chunk it writes must decode without error and
/// re-encode to the same bytes, and its CRC-32C must match ours.
@Suite(.heavy, .enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
struct PromtoolLiveTests {
    /// A chunk record of a block's chunk segment file (`chunks/000001`): uvarint data length,
    /// encoding byte, data, CRC-32C of encoding and data. A test-only reader; the block
    /// reader proper arrives with the block format.
    struct Record { var encoding: UInt8; var data: [UInt8]; var crc: UInt32 }

    static func records(in file: String) throws -> [Record] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(bytes.count >= 8 && bytes[0..<4] == [0x85, 0xBD, 0x40, 0xDD], "segment magic")
        #expect(bytes[4] == 1, "segment format version")
        var out: [Record] = []
        var i = 8
        while i < bytes.count {
            var len = 0, shift = 0
            while true {
                guard i < bytes.count, shift < 63 else { throw CommandFailure(description: "\(file): bad length at \(i)") }
                let b = bytes[i]; i += 1
                len |= Int(b & 0x7f) << shift
                shift += 7
                if b < 0x80 { break }
            }
            guard i + 5 + len <= bytes.count else { throw CommandFailure(description: "\(file): record at \(i) overruns") }
            let encoding = bytes[i]
            let data = Array(bytes[(i + 1)..<(i + 1 + len)])
            let c = bytes[(i + 1 + len)..<(i + 5 + len)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            out.append(Record(encoding: encoding, data: data, crc: c))
            i += 5 + len
        }
        return out
    }

    @Test func chunksPromtoolWritesNowDecodeAndReencodeIdentically() throws {
        try TemporaryDirectory.with { dir in
            let input = Repository.path("Fixtures/chunks/input.om")
            try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", "--quiet", input, dir + "/data"])
            let blocks = try FileManager.default.contentsOfDirectory(atPath: dir + "/data").filter { $0.count == 26 }
            #expect(!blocks.isEmpty)
            var seen: [[UInt8]] = []
            for block in blocks {
                let chunkDir = dir + "/data/" + block + "/chunks"
                for segment in try FileManager.default.contentsOfDirectory(atPath: chunkDir) {
                    for r in try Self.records(in: chunkDir + "/" + segment) {
                        #expect(r.encoding == 1)
                        #expect(CRC32C.checksum([r.encoding] + r.data) == r.crc)
                        let samples = try XORChunk(bytes: r.data).decodeAll()
                        #expect(samples.count == XORChunk(bytes: r.data).count)
                        #expect(XORChunk(encoding: samples).bytes == r.data, "re-encoding \(samples.count) samples")
                        seen.append(r.data)
                    }
                }
            }
            // With the promtool that made the fixtures, the chunks are exactly the fixtures'.
            let fixtures = try ChunkVector.load()
            let version = try Promtool.run(["--version"]).split(separator: "\n").first.map(String.init) ?? ""
            if version == fixtures.promtool {
                #expect(Set(seen.map(hexString)) == Set(fixtures.chunks.map { hexString($0.bytes) }))
            }
        }
    }
}
