import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

/// The out-of-order buffer against a model (a dictionary keeping each timestamp's first
/// value), and the m-map marker record's bytes.
@Suite(.heavy) struct OOOChunkTests {
    @Test func keepsSamplesSortedAndTheFirstValueOfATimestamp() throws {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<500 {
            var chunk = OOOChunk()
            var model: [Int64: Double] = [:]
            for _ in 0..<Int(rng.next() % 64) {
                let t = Int64(rng.next() % 40) * 1000 - 5000
                let v = Double(rng.next() % 1000)
                let inserted = chunk.insert(timestamp: t, value: v)
                #expect(inserted == (model[t] == nil), "seed \(rng.seed)")
                if model[t] == nil { model[t] = v }
            }
            let expected = model.sorted { $0.key < $1.key }.map { Sample(timestamp: $0.key, value: $0.value) }
            #expect(chunk.samples == expected, "seed \(rng.seed)")
            #expect(try chunk.xorChunk().decodeAll() == expected)
            if let lo = expected.first?.timestamp {
                let cut = lo + 10_000
                #expect(try chunk.xorChunk(minTime: cut).decodeAll() == expected.filter { $0.timestamp >= cut })
            }
        }
    }

    @Test func mmapMarkersRecordBytes() throws {
        let markers = [RefMmapMarker(ref: 3, chunkRef: 1 << 32 | 8), RefMmapMarker(ref: .max, chunkRef: 0)]
        var w = ByteWriter()
        RecordEncoder.mmapMarkers(markers, into: &w)
        #expect(w.bytes == [5, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 8]
                + [UInt8](repeating: 0xff, count: 8) + [UInt8](repeating: 0, count: 8))
        #expect(try RecordDecoder.mmapMarkers(w.bytes) == markers)
        #expect(try RecordDecoder.mmapMarkers([5]).isEmpty)
        for cut in [2, 9, 16, 24] {
            #expect(throws: TSDBError.self) { try RecordDecoder.mmapMarkers(Array(w.bytes.prefix(cut)), file: "wbl/00000000", offset: 100) }
        }
        do {
            _ = try RecordDecoder.mmapMarkers(Array(w.bytes.prefix(20)), file: "wbl/00000000", offset: 100)
        } catch {
            #expect(error.code == .corruption)
            #expect(error.description.contains("wbl/00000000"))
        }
        #expect(throws: TSDBError.self) { try RecordDecoder.mmapMarkers([2, 0]) }
    }
}
