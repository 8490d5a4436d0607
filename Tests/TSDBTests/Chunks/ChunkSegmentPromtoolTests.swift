import Foundation
import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// Block chunk segments against Prometheus's own writer: the reader opens every
/// `chunks/000001` that `promtool tsdb create-blocks-from openmetrics` writes, and the
/// writer, given the same chunks in the same order, produces the same file byte for byte.
@Suite(.heavy, .enabled(if: Promtool.isAvailable, "needs promtool: apt-get install -y prometheus"))
struct ChunkSegmentPromtoolTests {
    /// The chunk directories of the blocks promtool makes from `Fixtures/chunks/input.om`.
    static func promtoolBlocks(in dir: String) throws -> [String] {
        let input = Repository.path("Fixtures/chunks/input.om")
        try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", "--quiet", input, dir + "/data"])
        let blocks = try FileManager.default.contentsOfDirectory(atPath: dir + "/data")
            .filter { $0.count == 26 }.sorted()
        return blocks.map { dir + "/data/" + $0 + "/chunks" }
    }

    @Test func readsEveryChunkPromtoolWrites() throws {
        try TemporaryDirectory.with { dir in
            let blocks = try Self.promtoolBlocks(in: dir)
            #expect(blocks.count == 16)
            var seen: [[UInt8]] = []
            for chunks in blocks {
                let reader = try ChunkSegmentReader(directory: chunks, sys: .system)
                #expect(reader.segmentCount == 1)
                #expect(reader.segmentPath(0) == chunks + "/000001")
                let all = try ChunkTest.allChunks(reader)
                #expect(!all.isEmpty)
                for c in all {
                    #expect(c.encoding == .xor)
                    #expect(c.ref.segment == 0)
                    // Random access by reference finds the same chunk.
                    #expect(try reader.chunk(c.ref).data == c.data)
                    let samples = try XORChunk(bytes: c.data).decodeAll()
                    #expect(XORChunk(encoding: samples).bytes == c.data)
                    seen.append(c.data)
                }
            }

            // With the promtool that made the fixtures, the chunks are exactly the vectors,
            // as a multiset, and each decodes to the vector's samples bit for bit.
            let fixtures = try ChunkVector.load()
            let version = try Promtool.run(["--version"]).split(separator: "\n").first.map(String.init) ?? ""
            guard version == fixtures.promtool else { return }
            #expect(seen.map(hexString).sorted() == fixtures.chunks.map { hexString($0.bytes) }.sorted())
            let byHex = Dictionary(fixtures.chunks.map { (hexString($0.bytes), $0) }, uniquingKeysWith: { a, _ in a })
            for data in seen {
                guard let vector = byHex[hexString(data)] else { continue }
                let samples = try XORChunk(bytes: data).decodeAll()
                #expect(samples.map(\.timestamp) == vector.samples.map(\.0), "\(vector)")
                #expect(samples.map(\.value.bitPattern) == vector.samples.map(\.1), "\(vector)")
            }
        }
    }

    @Test func writerReproducesPromtoolsSegmentsByteForByte() throws {
        try TemporaryDirectory.with { dir in
            for chunks in try Self.promtoolBlocks(in: dir) {
                let theirs = try ChunkTest.allChunks(try ChunkSegmentReader(directory: chunks, sys: .system))
                let mine = dir + "/mine/" + UUID().uuidString
                var writer = try ChunkSegmentWriter(directory: mine, sys: .system)
                var refs: [ChunkRef] = []
                for c in theirs { refs.append(try writer.write(encoding: c.encoding, data: c.data)) }
                try writer.close()

                #expect(refs == theirs.map(\.ref), "refs are promtool's offsets")
                #expect(try FileManager.default.contentsOfDirectory(atPath: mine) == ["000001"])
                let expected = try TestFiles.read(chunks + "/000001")
                let actual = try TestFiles.read(mine + "/000001")
                #expect(actual.count == expected.count)
                #expect(actual == expected, "\(chunks)/000001")
            }
        }
    }
}
