import Foundation
import RemoteProtocol
import SwiftProtobuf
import TSDB

extension FuzzHarness {
    /// Writes seed inputs for every target under `directory/<target>/`, made of a small data
    /// directory this engine writes (blocks, tombstones, a WAL with a checkpoint, chunks_head/)
    /// for each WAL compression, plus selectors. `scripts/fuzz.sh seeds` adds the repository's
    /// fixtures (Prometheus-written blocks, XOR vectors, text and OpenMetrics samples).
    package static func makeSeeds(into directory: String) throws {
        let fm = FileManager.default
        for t in targets { try fm.createDirectory(atPath: directory + "/" + t, withIntermediateDirectories: true) }
        func put(_ target: String, _ name: String, _ data: [UInt8]) throws {
            try Data(data).write(to: URL(fileURLWithPath: "\(directory)/\(target)/\(name)"))
        }
        func read(_ path: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) }

        for (n, compression) in [WALCompression.none, .snappy, .lz4].enumerated() {
            let data = NSTemporaryDirectory() + "/tsdb-fuzz-seed-\(getpid())-\(n)"
            try? fm.removeItem(atPath: data)
            defer { if ProcessInfo.processInfo.environment["TSDB_FUZZ_KEEP_SEED_DATA"] == nil { try? fm.removeItem(atPath: data) } }
            var options = Options()
            options.compactionEnabled = false
            options.walCompression = compression
            options.walSegmentSize = 32 * 1024
            let db = try DB.open(directory: data, options: options)
            let sets = [
                try Labels(["__name__": "up", "job": "api"]),
                try Labels(["__name__": "up", "job": "web", "path": "C:\\x \"q\"\nz"]),
                try Labels(["__name__": "temp", "city": "Zürich ☃"]),
                try Labels(["__name__": "bits", "kind": "random"]),
            ]
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(n + 1)
            for i in 0..<(5 * 240) {
                var app = try db.appender()
                let t = Int64(1_700_000_000_000) + Int64(i) * 15_000
                for (j, ls) in sets.enumerated() {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let v: Double = j == 3 ? Double(bitPattern: state) : Double(i * (j + 1)) / 4
                    try app.append(ls, timestamp: t + Int64(j), value: v)
                }
                try app.commit()
            }
            _ = try db.compact()
            try db.delete(#"up{job="api"}"#, minTime: 1_700_000_000_000, maxTime: 1_700_001_000_000)
            try db.delete(#"{__name__="temp"}"#, minTime: 1_700_002_000_000, maxTime: 1_700_003_000_000)
            try db.close()

            let entries = try fm.contentsOfDirectory(atPath: data).sorted()
            for (b, block) in entries.filter({ $0.count == 26 }).enumerated() {
                let dir = data + "/" + block
                try put("index", "engine-\(compression)-\(b)", read(dir + "/index"))
                try put("meta", "engine-\(compression)-\(b).json", read(dir + "/meta.json"))
                if fm.fileExists(atPath: dir + "/tombstones") { try put("tombstones", "engine-\(compression)-\(b)", read(dir + "/tombstones")) }
                try put("chunks", "engine-\(compression)-\(b)", read(dir + "/chunks/000001"))
                for (c, chunk) in FuzzDrivers.xorChunks(ofSegmentIn: dir + "/chunks").prefix(8).enumerated() {
                    try put("xor", "engine-\(compression)-\(b)-\(c)", chunk)
                }
            }
            let wal = data + "/wal"
            for name in try fm.contentsOfDirectory(atPath: wal).sorted() {
                if name.hasPrefix("checkpoint.") {
                    for segment in try fm.contentsOfDirectory(atPath: wal + "/" + name).sorted() {
                        try put("checkpoint", "engine-\(compression)-\(name)-\(segment)", read(wal + "/" + name + "/" + segment))
                    }
                    continue
                }
                let bytes = try read(wal + "/" + name)
                guard !bytes.isEmpty else { continue }
                try put("wal", "engine-\(compression)-\(name)", bytes)
                try put("replay", "engine-\(compression)-\(name)", bytes)
                // A checkpoint's segments are WAL segments of series, samples and tombstones.
                try put("checkpoint", "engine-\(compression)-\(name)", bytes)
                var kinds: [UInt8: Int] = [:]
                for (r, record) in FuzzDrivers.records(ofSegment: bytes).enumerated() {
                    let kind = record.first ?? 0
                    let seen = kinds[kind, default: 0] + 1
                    kinds[kind] = seen
                    if seen <= 3 { try put("records", "engine-\(compression)-\(name)-\(r)", record) }
                }
            }
            let chunksHead = data + "/chunks_head"
            for name in (try? fm.contentsOfDirectory(atPath: chunksHead).sorted()) ?? [] {
                try put("head-chunks", "engine-\(compression)-\(name)", read(chunksHead + "/" + name))
            }
        }
        let selectors = [
            #"up"#, #"up{job="api"}"#, #"http_requests_total{job=~"api|web", code!="500"}"#,
            #"{__name__=~"node_.+", instance!~'10\\.0\\..*'}"#, #"x{a=`raw\n`, b="\u00e9\x41\101\U0001F600",}"#,
            #"foo:bar_baz{le="+Inf"}"#, #"{a!=""}"#,
        ]
        for (i, s) in selectors.enumerated() { try put("selector", "seed-\(i)", Array(s.utf8)) }
        // The write-behind log's m-map markers (no engine directory has them yet).
        var markers = ByteWriter()
        RecordEncoder.mmapMarkers([RefMmapMarker(ref: 1, chunkRef: 1 << 32 | 8), RefMmapMarker(ref: 7, chunkRef: 0)], into: &markers)
        try put("records", "seed-mmap-markers", markers.bytes)
        for (i, request) in remoteWriteSeeds().enumerated() { try put("remote-write", "seed-\(i)", try request.serializedBytes()) }
    }

    /// Remote-write requests as SwiftProtobuf encodes them: series with and without samples,
    /// empty label values, exemplars, a histogram, metadata.
    static func remoteWriteSeeds() -> [Prometheus_WriteRequest] {
        func label(_ n: String, _ v: String) -> Prometheus_Label {
            var l = Prometheus_Label()
            l.name = n
            l.value = v
            return l
        }
        func series(_ labels: [Prometheus_Label], samples: Int, start: Int64) -> Prometheus_TimeSeries {
            var ts = Prometheus_TimeSeries()
            ts.labels = labels
            ts.samples = (0..<samples).map { i in
                var s = Prometheus_Sample()
                s.timestamp = start + Int64(i) * 15_000
                s.value = i % 5 == 4 ? .nan : Double(i) * 1.5
                return s
            }
            return ts
        }
        var one = Prometheus_WriteRequest()
        one.timeseries = [series([label("__name__", "up"), label("instance", "a:9100"), label("job", "node")], samples: 3, start: 1_700_000_000_000)]
        var many = Prometheus_WriteRequest()
        many.timeseries = (0..<20).map { i in
            series([label("__name__", "http_requests_total"), label("code", i % 3 == 0 ? "" : "200"), label("path", "/p\(i)é")],
                   samples: i % 4, start: -5_000 + Int64(i))
        }
        var extras = series([label("__name__", "rpc_seconds"), label("le", "+Inf")], samples: 2, start: 0)
        var exemplar = Prometheus_Exemplar()
        exemplar.labels = [label("trace_id", "abc123")]
        exemplar.value = 0.25
        exemplar.timestamp = 7
        extras.exemplars = [exemplar]
        var withExtras = Prometheus_WriteRequest()
        withExtras.timeseries = [extras]
        var metadata = Prometheus_MetricMetadata()
        metadata.type = .counter
        metadata.metricFamilyName = "http_requests_total"
        metadata.help = "Requests."
        withExtras.metadata = [metadata]
        var histogram = Prometheus_WriteRequest()
        var h = series([label("__name__", "native")], samples: 0, start: 0)
        h.histograms = [Prometheus_Histogram()]
        histogram.timeseries = [h]
        return [one, many, withExtras, histogram, Prometheus_WriteRequest()]
    }
}
