import Testing
import TSDBTestSupport

@testable @_spi(Chunks) import TSDB

@Suite(.heavy) struct LabelsTests {
    @Test func sortsByNameAndDropsEmptyValues() throws {
        let l = try Labels(["job": "api", "__name__": "up", "zone": "", "instance": "a:1"])
        #expect(l.map(\.name) == ["__name__", "instance", "job"])
        #expect(l["job"] == "api")
        #expect(l["zone"] == nil)
        #expect(l.metricName == "up")
        #expect(l.description == #"{__name__="up", instance="a:1", job="api"}"#)
    }

    @Test func rejectsBadInputWithClearErrors() {
        func code(_ body: () throws -> Labels) -> TSDBError.Code? {
            do { _ = try body(); return nil } catch { return (error as? TSDBError)?.code }
        }
        #expect(code { try Labels([(String, String)]()) } == .invalidLabels)
        #expect(code { try Labels([("a", "")]) } == .invalidLabels)
        #expect(code { try Labels([("a", "1"), ("a", "2")]) } == .invalidLabels)
        #expect(code { try Labels([("1a", "x")]) } == .invalidLabels)
        #expect(code { try Labels([("a-b", "x")]) } == .invalidLabels)
        #expect(code { try Labels([("é", "x")]) } == .invalidLabels)
        #expect(code { try Labels([("", "x")]) } == .invalidLabels)
        do {
            _ = try Labels([("job", "a"), ("job", "b")])
        } catch {
            #expect(error.message.contains("duplicate label name \"job\""))
        }
    }

    @Test func validNames() {
        for n in ["a", "_", "__name__", "A_9", "abcXYZ_09"] { #expect(Labels.isValidName(n)) }
        for n in ["", "9", "a.b", "a:b", "a b", "ä"] { #expect(!Labels.isValidName(n)) }
    }

    @Test func orderingIsPrometheusCompare() throws {
        let a = try Labels(["__name__": "a", "x": "1"])
        let b = try Labels(["__name__": "a", "x": "2"])
        let c = try Labels(["__name__": "a"])
        let d = try Labels(["__name__": "b"])
        let e = try Labels(["__name__": "a", "y": "0"])
        #expect([d, b, e, a, c].sorted() == [c, a, b, e, d])
        #expect(Labels.compare(a, a) == 0)
    }

    @Test func comparisonIsBytewiseNotUnicodeEquivalence() throws {
        let composed = try Labels(["v": "\u{e9}"])        // é as one scalar
        let decomposed = try Labels(["v": "e\u{301}"])     // e + combining accent
        #expect(composed != decomposed)
        #expect(composed.hash64 != decomposed.hash64)
        #expect(Set([composed, decomposed]).count == 2)
        // 'e' (0x65) < 0xc3 (first byte of é), whatever Unicode collation says.
        #expect(decomposed < composed)
    }

    @Test func hashIsXXHashOfPrometheusByteLayout() throws {
        let l = try Labels(["__name__": "up", "job": "api"])
        let layout = Array("__name__\u{ff}up\u{ff}job\u{ff}api\u{ff}".utf8).map { $0 }
        // 0xff as a byte, not the UTF-8 of U+00FF.
        let bytes = Array("__name__".utf8) + [0xff] + Array("up".utf8) + [0xff] + Array("job".utf8) + [0xff]
            + Array("api".utf8) + [0xff]
        #expect(l.hash64 == XXHash64.hash(bytes))
        #expect(layout != bytes)
    }

    @Test func hashIsWellDistributed() throws {
        // 20k label sets differing in one value: no collisions, and the low bits spread evenly.
        var seen = Set<UInt64>()
        var buckets = [Int](repeating: 0, count: 64)
        for i in 0..<20_000 {
            let h = try Labels(["__name__": "m", "instance": "host-\(i)"]).hash64
            seen.insert(h)
            buckets[Int(h % 64)] += 1
        }
        #expect(seen.count == 20_000)
        #expect(buckets.min()! > 20_000 / 64 / 2)
        #expect(buckets.max()! < 20_000 / 64 * 2)
    }

    @Test func goQuoting() {
        #expect(goQuote("a\"b\\c\nd\te") == #""a\"b\\c\nd\te""#)
        #expect(goQuote("\u{1}") == #""\x01""#)
        #expect(goQuote("héllo✓") == "\"héllo✓\"")
        #expect(goQuote("\u{200b}") == #""\u200b""#)
    }
}
