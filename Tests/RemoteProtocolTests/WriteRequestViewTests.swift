import SwiftProtobuf
import Testing
import TSDB
import TSDBTestSupport
@testable import RemoteProtocol

/// Protobuf's wire format by hand, for encodings SwiftProtobuf does not write: fields out of
/// order, interleaved repeated fields, unknown fields, groups.
private struct Wire {
    var bytes: [UInt8] = []

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
    mutating func tag(_ field: UInt64, _ wire: UInt64) { varint(field << 3 | wire) }
    mutating func bytesField(_ field: UInt64, _ b: [UInt8]) {
        tag(field, 2)
        varint(UInt64(b.count))
        bytes += b
    }
    mutating func fixed64(_ field: UInt64, _ v: UInt64) {
        tag(field, 1)
        withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
    }
    static func label(_ name: String, _ value: String) -> [UInt8] {
        var w = Wire()
        w.bytesField(1, Array(name.utf8))
        w.bytesField(2, Array(value.utf8))
        return w.bytes
    }
    static func sample(_ t: Int64, _ v: Double) -> [UInt8] {
        var w = Wire()
        w.fixed64(1, v.bitPattern)
        w.tag(2, 0)
        w.varint(UInt64(bitPattern: t))
        return w.bytes
    }
}

@Suite(.heavy) struct WriteRequestViewTests {
    /// A random request as SwiftProtobuf builds it: names sorted or not, empty values,
    /// odd floats, negative timestamps, exemplars, now and then a histogram.
    static func randomRequest(_ rng: inout SeededRandom) -> Prometheus_WriteRequest {
        var request = Prometheus_WriteRequest()
        let names = ["__name__", "a", "instance", "job", "le", "zone", "1bad", "ü"]
        for _ in 0..<Int(rng.next() % 12) {
            var ts = Prometheus_TimeSeries()
            var chosen = names.filter { _ in rng.next() % 2 == 0 }
            if rng.next() % 8 == 0 { chosen.shuffle(using: &rng) }
            if rng.next() % 10 == 0, let first = chosen.first { chosen.append(first) }
            ts.labels = chosen.map { n in
                var l = Prometheus_Label()
                l.name = n
                l.value = rng.next() % 6 == 0 ? "" : "v\(rng.next() % 1000)é"
                return l
            }
            ts.samples = (0..<Int(rng.next() % 20)).map { _ in
                var s = Prometheus_Sample()
                s.timestamp = Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64)
                s.value = [0, -0.0, .nan, .infinity, 1e300, Double(rng.next() % 100) / 7][Int(rng.next() % 6)]
                return s
            }
            for _ in 0..<Int(rng.next() % 3) {
                var e = Prometheus_Exemplar()
                e.value = 1
                e.timestamp = 5
                var l = Prometheus_Label()
                l.name = "trace_id"
                l.value = "abc"
                e.labels = [l]
                ts.exemplars.append(e)
            }
            if rng.next() % 15 == 0 { ts.histograms = [Prometheus_Histogram()] }
            request.timeseries.append(ts)
        }
        if rng.next() % 3 == 0 {
            var m = Prometheus_MetricMetadata()
            m.metricFamilyName = "x"
            m.help = "help"
            request.metadata = [m]
        }
        return request
    }

    /// What SwiftProtobuf decodes, the view decodes: the same series, labels (or the same
    /// refusal of them), samples bit for bit, exemplars and histograms.
    @Test func agreesWithSwiftProtobuf() throws {
        var rng = SeededRandom.fromEnvironment()
        for _ in 0..<2_000 {
            let request = Self.randomRequest(&rng)
            let bytes: [UInt8] = try request.serializedBytes()
            let view = try WriteRequestView(decoding: bytes)
            try #require(view.series.count == request.timeseries.count, "seed \(rng.seed)")
            for (s, ts) in zip(view.series, request.timeseries) {
                let ours = Result { () throws(RemoteConversion.LabelError) in try view.labels(of: s, maxLabelBytes: 20) }
                let theirs = Result { () throws(RemoteConversion.LabelError) in try RemoteConversion.labels(ts.labels, maxLabelBytes: 20) }
                #expect(ours == theirs, "seed \(rng.seed)")
                let samples = view.samples[s.samples]
                #expect(samples.map(\.timestamp) == ts.samples.map(\.timestamp))
                #expect(samples.map(\.value.bitPattern) == ts.samples.map(\.value.bitPattern))
                #expect(s.exemplars == ts.exemplars.count && s.histograms == ts.histograms.count)
                #expect(view.labelKey(of: s) != nil, "SwiftProtobuf writes labels together")
            }
        }
    }

    /// Cut anywhere, a request is refused by both decoders or by neither.
    @Test func truncationsAreRefusedAsSwiftProtobufRefusesThem() throws {
        var rng = SeededRandom(seed: 11)
        var request = Self.randomRequest(&rng)
        while request.timeseries.count < 3 { request = Self.randomRequest(&rng) }
        let bytes: [UInt8] = try request.serializedBytes()
        for n in 0..<bytes.count {
            let cut = Array(bytes.prefix(n))
            let theirs = (try? Prometheus_WriteRequest(serializedBytes: cut)) != nil
            let ours = (try? WriteRequestView(decoding: cut)) != nil
            #expect(ours == theirs, "cut at \(n) of \(bytes.count)")
        }
    }

    /// Encodings SwiftProtobuf reads but does not write: the view reads them the same.
    @Test func interleavedUnknownAndRepeatedFields() throws {
        var ts = Wire()
        ts.bytesField(2, Wire.sample(10, 1.5))
        ts.bytesField(1, Wire.label("__name__", "up"))
        ts.tag(9, 0); ts.varint(300)                      // unknown varint
        ts.bytesField(2, Wire.sample(20, 2.5))
        ts.bytesField(1, Wire.label("job", "x"))          // labels interleaved with samples
        ts.tag(10, 5); ts.bytes += [1, 2, 3, 4]           // unknown fixed32
        ts.tag(11, 3); ts.tag(1, 0); ts.varint(1); ts.tag(11, 4)  // a group
        var sample = Wire.sample(30, 9)
        sample += Wire.sample(31, 3.5)                    // the last of each scalar wins
        ts.bytesField(2, sample)
        var req = Wire()
        req.bytesField(1, ts.bytes)
        req.bytesField(3, [0x0a, 0x01, 0x78])             // metadata, skipped
        req.fixed64(15, 7)                                // unknown fixed64

        let theirs = try Prometheus_WriteRequest(serializedBytes: req.bytes)
        let view = try WriteRequestView(decoding: req.bytes)
        try #require(view.series.count == 1)
        let s = view.series[0]
        #expect(try view.labels(of: s) == RemoteConversion.labels(theirs.timeseries[0].labels))
        #expect(view.samples[s.samples].map(\.timestamp) == [10, 20, 31])
        #expect(view.samples[s.samples].map(\.value) == [1.5, 2.5, 3.5])
        #expect(theirs.timeseries[0].samples.map(\.timestamp) == [10, 20, 31])
        #expect(view.labelKey(of: s) == nil, "interleaved labels are no cache key")
    }

    /// Refused as Prometheus 2.42's gogo-generated decoder refuses them (a known field of
    /// the wrong wire type included).
    @Test func malformedInputsAreRefusedWithTheirOffset() {
        let cases: [(String, [UInt8])] = [
            ("field number 0", [0x00]),
            ("an overlong varint", [0x08] + Array(repeating: 0xff, count: 10) + [0x01]),
            ("a length past the end", [0x0a, 0x05, 0x0a]),
            ("wire type 6", [0x0e]),
            ("a lone end-group", [0x0c]),
            ("an unterminated group", [0x0b, 0x08, 0x01]),
            ("a series of the wrong wire type", [0x08, 0x01]),
            ("a sample value as a varint", [0x0a, 0x04, 0x12, 0x02, 0x08, 0x01]),
            ("a truncated fixed64", [0x0a, 0x05, 0x12, 0x03, 0x09, 0x00, 0x00]),
        ]
        for (what, bytes) in cases {
            #expect(throws: WriteRequestView.DecodeError.self, "\(what)") { try WriteRequestView(decoding: bytes) }
        }
        do {
            _ = try WriteRequestView(decoding: [0x0a, 0x02, 0x0a, 0x09])
            Issue.record("accepted a label past its series")
        } catch {
            #expect(error.offset == 3 && error.description.contains("byte 3"))
        }
    }

    /// A label that is not UTF-8 is refused when the labels are made, not at decoding
    /// (the request is one transaction, so the outcome is the same 400).
    @Test func invalidUTF8IsRefusedWithTheLabels() throws {
        var label = Wire()
        label.bytesField(1, Array("job".utf8))
        label.bytesField(2, [0xff, 0xfe])
        var ts = Wire()
        ts.bytesField(1, label.bytes)
        var req = Wire()
        req.bytesField(1, ts.bytes)
        let view = try WriteRequestView(decoding: req.bytes)
        #expect(throws: RemoteConversion.LabelError.self) { try view.labels(of: view.series[0]) }
        #expect((try? Prometheus_WriteRequest(serializedBytes: req.bytes)) == nil)
    }
}
