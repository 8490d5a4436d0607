import RemoteProtocol
import SwiftProtobuf
import TSDB

extension FuzzDrivers {
    /// A remote-write request's protobuf (decompressed): ``WriteRequestView`` and the labels
    /// of every series. Whatever SwiftProtobuf decodes, the view decodes to the same series,
    /// samples (bit for bit), exemplar and histogram counts and labels; it may refuse more
    /// (a known field of the wrong wire type, which Prometheus's decoder refuses too).
    package static func remoteWrite(_ bytes: [UInt8]) throws(FuzzFailure) {
        let view: WriteRequestView
        do { view = try WriteRequestView(decoding: bytes) } catch {
            guard error.offset >= 0 && error.offset <= bytes.count else {
                throw FuzzFailure("remote-write: error offset \(error.offset) outside the input of \(bytes.count) bytes")
            }
            if let theirs = try? Prometheus_WriteRequest(serializedBytes: bytes), !hasWrongWireTypes(theirs) {
                throw FuzzFailure("remote-write: SwiftProtobuf decodes what the view refuses: \(error)")
            }
            return
        }
        var labels: [Result<Labels, RemoteConversion.LabelError>] = []
        for s in view.series {
            labels.append(Result { () throws(RemoteConversion.LabelError) in try view.labels(of: s, maxLabelBytes: 64) })
            guard s.samples.upperBound <= view.samples.count else { throw FuzzFailure("remote-write: samples out of range") }
        }
        guard let theirs = try? Prometheus_WriteRequest(serializedBytes: bytes) else { return }
        guard theirs.timeseries.count == view.series.count else {
            throw FuzzFailure("remote-write: \(view.series.count) series, SwiftProtobuf \(theirs.timeseries.count)")
        }
        for (i, ts) in theirs.timeseries.enumerated() {
            let s = view.series[i]
            let samples = view.samples[s.samples]
            guard samples.map(\.timestamp) == ts.samples.map(\.timestamp),
                  samples.map(\.value.bitPattern) == ts.samples.map(\.value.bitPattern) else {
                throw FuzzFailure("remote-write: series \(i): samples differ")
            }
            guard s.exemplars == ts.exemplars.count, s.histograms == ts.histograms.count else {
                throw FuzzFailure("remote-write: series \(i): exemplar or histogram counts differ")
            }
            let expected = Result { () throws(RemoteConversion.LabelError) in try RemoteConversion.labels(ts.labels, maxLabelBytes: 64) }
            guard labels[i] == expected else { throw FuzzFailure("remote-write: series \(i): labels \(labels[i]) vs \(expected)") }
        }
    }

    /// SwiftProtobuf keeps a known field of the wrong wire type as an unknown field; the
    /// view (as Prometheus's gogo decoder) refuses it.
    private static func hasWrongWireTypes(_ request: Prometheus_WriteRequest) -> Bool {
        !request.unknownFields.data.isEmpty
            || request.timeseries.contains { ts in
                !ts.unknownFields.data.isEmpty || ts.labels.contains { !$0.unknownFields.data.isEmpty }
                    || ts.samples.contains { !$0.unknownFields.data.isEmpty }
            }
    }
}
