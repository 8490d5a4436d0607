import Foundation
import RemoteProtocol
import TSDBTestSupport

/// Remote-write and remote-read requests as a sender makes them, and PromQL answers reduced
/// to what two servers must agree on.
enum Remote {
    static func series(_ labels: [(String, String)], _ samples: [(Int64, Double)]) -> Prometheus_TimeSeries {
        var ts = Prometheus_TimeSeries()
        ts.labels = labels.map { name, value in
            var l = Prometheus_Label()
            l.name = name
            l.value = value
            return l
        }
        ts.samples = samples.map { t, v in
            var s = Prometheus_Sample()
            s.timestamp = t
            s.value = v
            return s
        }
        return ts
    }

    static func body(_ series: [Prometheus_TimeSeries]) throws -> [UInt8] {
        var request = Prometheus_WriteRequest()
        request.timeseries = series
        return SnappyBody.encode(try request.serializedBytes())
    }

    /// POSTs `body` to `url` with remote write's headers; the status and the text answered.
    static func post(_ url: String, _ body: [UInt8], headers: [String] = [
        "Content-Encoding: snappy", "Content-Type: application/x-protobuf",
        "X-Prometheus-Remote-Write-Version: 0.1.0",
    ]) async throws -> HTTP.Reply {
        try await offPool {
            let file = NSTemporaryDirectory() + "rw-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            try Data(body).write(to: URL(fileURLWithPath: file))
            defer { try? FileManager.default.removeItem(atPath: file) }
            return try HTTP.curl(["-X", "POST"] + headers.flatMap { ["-H", $0] } + ["--data-binary", "@\(file)", url])
        }
    }

    /// POSTs a remote-read request and decodes the sampled answer (nil with the status and
    /// text when it is not a 200).
    static func read(_ url: String, _ request: Prometheus_ReadRequest) async throws
        -> (status: Int, response: Prometheus_ReadResponse?, text: String)
    {
        let body = SnappyBody.encode(try request.serializedBytes())
        return try await offPool {
            let dir = NSTemporaryDirectory() + "rr-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try Data(body).write(to: URL(fileURLWithPath: dir + "/in"))
            let r = try Command.runStatus("/usr/bin/curl", [
                "-s", "-m", "60", "-o", dir + "/out", "-w", "%{http_code}", "-X", "POST",
                "-H", "Content-Encoding: snappy", "-H", "Content-Type: application/x-protobuf",
                "-H", "X-Prometheus-Remote-Read-Version: 0.1.0",
                "--data-binary", "@\(dir)/in", url,
            ])
            let status = Int(r.stdout) ?? 0
            let out = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/out"))).map { [UInt8]($0) } ?? []
            guard status == 200 else { return (status, nil, String(decoding: out, as: UTF8.self)) }
            let decoded = try SnappyBody.decode(out, limit: 1 << 30)
            return (status, try Prometheus_ReadResponse(serializedBytes: decoded), "")
        }
    }

    /// A matrix or vector answer as `labels → [(t, value text)]`, labels printed sorted.
    static func samples(_ json: String) throws -> [String: [String]] {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              object["status"] as? String == "success",
              let data = object["data"] as? [String: Any],
              let result = data["result"] as? [[String: Any]]
        else { throw CommandFailure(description: "not a successful query answer: \(json.prefix(500))") }
        var out: [String: [String]] = [:]
        for series in result {
            let metric = (series["metric"] as? [String: String]) ?? [:]
            let key = metric.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            var points: [[Any]] = (series["values"] as? [[Any]]) ?? []
            if let v = series["value"] as? [Any] { points.append(v) }
            out[key, default: []] += points.map { p in "\(p[0])@\(p[1])" }
        }
        return out
    }
}
