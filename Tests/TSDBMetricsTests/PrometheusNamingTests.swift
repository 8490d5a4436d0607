import CoreMetrics
import Exposition
import Prometheus
import Testing
import TSDBTestSupport
import TSDB
@testable import TSDBMetrics

/// The series a program gets here are the ones it would get from swift-prometheus's own
/// `PrometheusCollectorRegistry` for the same swift-metrics calls, scraped by Prometheus: the
/// same sanitised names and label names, the same values; only the conventions of a scrape
/// of a Go client differ, on purpose: counters end in `_total` and `le` is written as Go
/// writes floats (`1`, not `1.0`).
@Suite(.blocking) struct PrometheusNamingTests {
    /// Names whose fix-up by swift-prometheus neither traps nor makes two of the suffixed
    /// names below collide (a multi-byte character cuts the rest of the name, suffix included).
    static let names = [
        "http.requests", "1st-metric", "ok_name", "a:b:c", "metric2x", "with space", "ns/op", "0zero",
        "9nine", "tab\there", "UPPER-case", "x", "_", "::", "a.b-c d",
    ]
    static let dimensions = [("some-label", "v1"), ("2nd", "x"), ("a:b", "y"), ("ok", #"quote " and \ back"#), ("lé", "accent")]

    /// Records the same things through any factory.
    static func record(_ factory: any MetricsFactory, name: String) {
        CoreMetrics.Counter(label: name + "_c", dimensions: dimensions, factory: factory).increment(by: 3)
        CoreMetrics.Counter(label: name + "_total", factory: factory).increment(by: 1)
        FloatingPointCounter(label: name + "_f", dimensions: dimensions, factory: factory).increment(by: 1.5)
        Meter(label: name + "_m", dimensions: dimensions, factory: factory).set(2.5)
        Recorder(label: name + "_g", dimensions: dimensions, aggregate: false, factory: factory).record(-4)
        let timer = CoreMetrics.Timer(label: name + "_t", dimensions: dimensions, factory: factory)
        timer.recordMilliseconds(30)
        timer.recordSeconds(2)
        let recorder = Recorder(label: name + "_r", dimensions: dimensions, factory: factory)
        recorder.record(7)
        recorder.record(0.3)
    }

    /// The series of swift-prometheus's exposition, as Prometheus stores them, with the two
    /// conventions above applied.
    static func swiftPrometheusSeries() throws -> [String: Double] {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultValueHistogramBuckets = TSDBMetricsFactory.prometheusDefaultBuckets
        for name in names { record(factory, name: name) }
        var text: [UInt8] = []
        registry.emit(into: &text)
        return try text.withUnsafeBytes { raw throws -> [String: Double] in
            var parser = TextParser(raw, format: .prometheusText)
            var type = ""
            var out: [String: Double] = [:]
            while let entry = try parser.nextEntry() {
                switch entry {
                case .metadata(let m) where m.kind == .type:
                    type = m.text
                case .metadata:
                    continue
                case .sample(let s):
                    let labels = try parser.labels(of: s)
                    var pairs = labels.map { ($0.name, $0.value) }
                    for i in pairs.indices {
                        if pairs[i].0 == "__name__", type == "counter", !pairs[i].1.hasSuffix("_total") { pairs[i].1 += "_total" }
                        if pairs[i].0 == "le", let le = Double(pairs[i].1) { pairs[i].1 = GoFormat.float(le) }
                    }
                    out[try Labels(pairs).description] = s.value
                }
            }
            return out
        }
    }

    @Test func namesLabelsAndValuesMatchSwiftPrometheus() throws {
        let expected = try Self.swiftPrometheusSeries()
        #expect(expected.count == Self.names.count * (3 + 2 + 2 * 14))

        let f = try MetricsFixture()
        for name in Self.names { Self.record(f.factory, name: name) }
        try f.factory.sample(at: 1_000)
        var stored: [String: Double] = [:]
        for (labels, samples) in try f.raw() { stored[labels.description] = samples.last?.value }

        #expect(Set(stored.keys).subtracting(expected.keys).sorted() == [])
        #expect(Set(expected.keys).subtracting(stored.keys).sorted() == [])
        for (series, value) in expected where stored[series] != value {
            Issue.record("\(series): swift-prometheus \(value), stored \(String(describing: stored[series]))")
        }
    }

    /// Names and label names, against what swift-prometheus's registry exposes for them,
    /// including its quirks (see `PrometheusNaming`). Not here: 4-byte characters such as
    /// emoji after the first position, on which swift-prometheus 2.4.1 traps.
    @Test(arguments: [
        "http.requests", "1st-metric", "a:b", "metric2x", "büro_c", "aé.b", "a.bé.c", "ab€cd", "xé", "é",
        "ébc.é d", "b\u{327}ar", "ab.cd.ef", "a:é:b", "1é", "é1abc", "aéb", "a\u{301}bc", "a-é", "zz€", "éé",
        "a\r\nb", "0", "9", "_9", "a1", "A-Z",
    ])
    func sanitisingMatchesSwiftPrometheus(_ raw: String) throws {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        Meter(label: raw, dimensions: [(raw, "v")], factory: factory).set(1)
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        // The sample line is `name{label="v"} 1.0`; the names may not be valid, so no parser.
        let line = try #require(String(decoding: bytes, as: UTF8.self).split(separator: "\n").last)
        let brace = try #require(line.firstIndex(of: "{"))
        let equals = try #require(line.firstIndex(of: "="))
        #expect(PrometheusNaming.metricName(raw) == String(line[..<brace]))
        #expect(PrometheusNaming.labelName(raw) == String(line[line.index(after: brace)..<equals]))
    }

    @Test(arguments: [
        ("http.requests", "http_requests"), ("1st-metric", "_st_metric"), ("a:b", "a:b"), ("metric2x", "metric2x"),
        ("büro_total", "b_"), ("0zero", "_zero"), ("", ""), ("b\u{327}ar", ""),
    ])
    func storedMetricNames(_ label: String, _ stored: String) throws {
        let f = try MetricsFixture()
        Meter(label: label, factory: f.factory).set(1)
        try f.factory.sample(at: 1_000)
        #expect(try f.raw().keys.compactMap(\.metricName) == (stored.isEmpty ? [] : [stored]))
    }

    @Test func dimensionsThatAreNoLabelNamesAreDropped() throws {
        let f = try MetricsFixture()
        Meter(label: "m", dimensions: [("b\u{327}ar", "1"), ("a-b", "2"), ("a_b", "3"), ("", "4")], factory: f.factory).set(1)
        try f.factory.sample(at: 1_000)
        // `a-b` and `a_b` are the same label after sanitising: the first wins.
        #expect(try f.raw().keys.map(\.description) == [#"{__name__="m", a_b="2"}"#])
    }
}
