import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct VarintTests {
    @Test(arguments: [UInt64(0), 1, 127, 128, 300, 16383, 16384, UInt64(UInt32.max), UInt64.max])
    func uvarintRoundTrip(_ v: UInt64) throws {
        var w = ByteWriter()
        w.writeUvarint(v)
        #expect(w.count == Varint.uvarintSize(v))
        var r = ByteReader(w.bytes)
        #expect(try r.readUvarint() == v)
        #expect(r.isAtEnd)
    }

    @Test func goVectors() throws {
        // binary.PutUvarint(300) = ac 02; binary.PutVarint(-1) = 01; PutVarint(1) = 02; PutVarint(-65) = 81 01.
        var w = ByteWriter()
        w.writeUvarint(300)
        w.writeVarint(-1)
        w.writeVarint(1)
        w.writeVarint(-65)
        #expect(w.bytes == [0xac, 0x02, 0x01, 0x02, 0x81, 0x01])
    }

    @Test func randomSignedRoundTrip() throws {
        var rng = SeededRandom.fromEnvironment()
        var w = ByteWriter()
        var values: [Int64] = [.min, .max, 0, -1]
        for _ in 0..<1000 { values.append(Int64(bitPattern: rng.next()) >> (rng.next() % 64)) }
        for v in values { w.writeVarint(v) }
        var r = ByteReader(w.bytes)
        for v in values { #expect(try r.readVarint() == v, "seed \(rng.seed)") }
    }

    @Test func malformedVarintsThrowWithOffset() {
        // Truncated: continuation bit set on the last byte.
        var r = ByteReader([0x01, 0x80, 0x80], file: "x", baseOffset: 100)
        _ = try? r.readByte()
        #expect(throws: TSDBError.self) { try r.readUvarint() }
        do {
            var r2 = ByteReader([0x80, 0x80], file: "seg", baseOffset: 10)
            _ = try r2.readUvarint()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .corruption)
            #expect(error.location == .init(file: "seg", offset: 10))
        }
        // Eleven bytes: overflows 64 bits.
        var r3 = ByteReader([UInt8](repeating: 0xff, count: 10) + [0x01])
        #expect(throws: TSDBError.self) { try r3.readUvarint() }
        // Ten bytes whose last is > 1: overflows too.
        var r4 = ByteReader([UInt8](repeating: 0xff, count: 9) + [0x02])
        #expect(throws: TSDBError.self) { try r4.readUvarint() }
    }

    @Test func readerNeverTrapsOnRandomBytes() {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<2000 {
            let bytes = (0..<Int(rng.next() % 24)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var r = ByteReader(bytes)
            while !r.isAtEnd {
                switch rng.next() % 6 {
                case 0: _ = try? r.readUvarint()
                case 1: _ = try? r.readVarint()
                case 2: _ = try? r.readBigEndian(UInt32.self)
                case 3: _ = try? r.readBigEndian(UInt64.self)
                case 4: _ = try? r.readLengthPrefixedString()
                default: _ = try? r.readBytes(Int(rng.next() % 8))
                }
                if rng.next() % 4 == 0 { break }
            }
        }
    }
}
