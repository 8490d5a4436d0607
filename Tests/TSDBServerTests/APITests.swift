import Foundation
import Testing
import TSDB
@testable import TSDBServer
import TSDBTestSupport

/// The fixture, written once per test process.
let fixtureDirectory: String = {
    let dir = NSTemporaryDirectory() + "tsdb-server-fixture-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    do { try Fixture.write(to: dir) } catch { fatalError("fixture: \(error)") }
    return dir
}()

/// Runs `body` against a server on a fresh copy of the fixture (or an empty directory);
/// always stops it.
func withServer(_ configure: (inout PrometheusAPI.Configuration) -> Void = { _ in },
                fixture: Bool = true, remote: RemoteConfiguration = RemoteConfiguration(),
                _ body: (InProcessServer) async throws -> Void) async throws {
    let work = try TemporaryDirectory("tsdb-server-test")
    defer { work.remove() }
    if fixture { try Fixture.copy(fixtureDirectory, to: work.path + "/data") }
    let server = try await InProcessServer.start(directory: work.path + "/data", configure: configure, remote: remote)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

@Suite(.blocking, .serialized) struct APITests {
    @Test func exactJSONForVectorsScalarsAndErrors() async throws {
        try await withServer { s in
            var r = try await HTTP.get(s.base + #"/api/v1/query?query=up{job="api",instance="a:9100"}&time=1700000000"#)
            #expect(r.status == 200)
            #expect(r.body == #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"a:9100","job":"api"},"value":[1700000000,"1"]}]}}"#)

            r = try await HTTP.get(s.base + "/api/v1/query?query=1.5&time=1700000000.123")
            #expect(r.body == #"{"status":"success","data":{"resultType":"scalar","result":[1700000000.123,"1.5"]}}"#)

            r = try await HTTP.get(s.base + "/api/v1/query?query=up&time=abc")
            #expect(r.status == 400)
            #expect(r.body == #"{"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": Invalid time value for 'time': cannot parse \"abc\" to a valid timestamp"}"#)

            // Label values with HTML characters are escaped as Go escapes them.
            r = try await HTTP.get(s.base + "/api/v1/label/sensor/values")
            #expect(r.body == #"{"status":"success","data":["cpu\u003c0\u003e\u0026\"x\""]}"#)

            // Sample values: 'e' below 1e-6, infinities spelled as Go does.
            r = try await HTTP.get(s.base + "/api/v1/query?query=tiny_value&time=1700000000")
            #expect(r.body.contains(#""value":[1700000000,"#) && r.body.contains("e-09\""))
            r = try await HTTP.get(s.base + "/api/v1/query?query=sparse_metric&time=1699978400")
            #expect(r.body.contains(#"[1699978400,"+Inf"]"#))
        }
    }

    @Test func postFormsAndRangeQueries() async throws {
        try await withServer { s in
            let get = try await HTTP.get(s.base + "/api/v1/query_range?query=sum(rate(http_requests_total[5m]))&start=1699990000&end=1700000000&step=60")
            let post = try await HTTP.post(s.base + "/api/v1/query_range",
                                     body: "query=sum(rate(http_requests_total%5B5m%5D))&start=1699990000&end=1700000000&step=1m")
            #expect(get.status == 200)
            #expect(get.body == post.body)
            #expect(get.body.hasPrefix(#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1699990000,"#))

            let rfc = try await HTTP.get(s.base + "/api/v1/query?query=up{instance=\"a:9100\",job=\"api\"}&time=2023-11-14T22:13:20Z")
            #expect(rfc.body.contains(#""value":[1700000000,"1"]"#))
            let frac = try await HTTP.get(s.base + "/api/v1/query?query=time()&time=2023-11-14T22:13:20.5%2B00:00")
            #expect(frac.body == #"{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"1700000000.5"]}}"#)
        }
    }

    @Test func badParametersGetPrometheusErrors() async throws {
        try await withServer { s in
            func check(_ path: String, _ status: Int, _ message: String) async throws {
                let r = try await HTTP.get(s.base + path)
                #expect(r.status == status, "\(path): \(r.body)")
                #expect(r.body.contains(message), "\(path): \(r.body)")
            }
            try await check("/api/v1/query_range?query=up&start=1&end=100&step=0", 400,
                      #"invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"#)
            try await check("/api/v1/query_range?query=up&start=1&end=100&step=abc", 400,
                      #"invalid parameter \"step\": cannot parse \"abc\" to a valid duration"#)
            try await check("/api/v1/query_range?query=up&start=100&end=1&step=1", 400,
                      #"invalid parameter \"end\": end timestamp must not be before start time"#)
            try await check("/api/v1/query_range?query=up&start=0&end=100000&step=1", 400,
                      "exceeded maximum resolution of 11,000 points per timeseries")
            try await check("/api/v1/query_range?query=up&end=100&step=1", 400,
                      #"invalid parameter \"start\": cannot parse \"\" to a valid timestamp"#)
            try await check("/api/v1/query?query=up&timeout=xyz", 400, #"invalid parameter \"timeout\": cannot parse \"xyz\" to a valid duration"#)
            try await check("/api/v1/query?query=sum(", 400, #"invalid parameter \"query\": 1:5: parse error"#)
            try await check("/api/v1/series", 400, "no match[] parameter provided")
            try await check("/api/v1/series?match[]=up{", 400, #"invalid parameter \"match[]\": 1:4: parse error"#)
            try await check("/api/v1/labels?match[]={job=~\".*\"}", 400, "at least one non-empty matcher")
            try await check("/api/v1/label/not-a-name/values", 400, #"invalid label name: \"not-a-name\""#)
            try await check("/api/v1/series?match[]=up&start=x", 400, #"invalid parameter \"start\": Invalid time value for 'start'"#)
            try await check("/api/v1/metadata?limit=x", 400, "limit must be a number")
            let admin = try await HTTP.post(s.base + "/api/v1/admin/tsdb/clean_tombstones", body: "")
            #expect(admin.status == 500)
            #expect(admin.body == #"{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}"#)
            // The server keeps serving.
            #expect(try await HTTP.get(s.base + "/-/healthy").body == "Prometheus Server is Healthy.\n")
        }
    }

    @Test func oversizedBodiesAndLongQueries() async throws {
        try await withServer({ $0.maxBodySize = 1 << 20 }) { s in
            let big = "match[]=up&pad=" + String(repeating: "x", count: 2 << 20)
            let r = try await HTTP.post(s.base + "/api/v1/series", body: big)
            #expect(r.status == 400)
            #expect(r.body.contains("error parsing form values: http: POST too large"))
            let long = try await HTTP.post(s.base + "/api/v1/query", body: "query=" + String(repeating: "(", count: 300_000))
            #expect(long.status == 400)
            #expect(try await HTTP.get(s.base + "/-/ready").status == 200)
        }
    }

    @Test func tooManySamplesAndTimeouts() async throws {
        try await withServer({ $0.maxSamples = 100 }) { s in
            let r = try await HTTP.get(s.base + "/api/v1/query_range?query=http_requests_total&start=1699990000&end=1700000000&step=15")
            #expect(r.status == 422)
            #expect(r.body.contains(#""errorType":"execution""#) && r.body.contains("too many samples"))
            // A subquery needing ~10^11 points per series is refused, not allocated.
            let huge = try await HTTP.get(s.base + "/api/v1/query?query=count_over_time(vector(1)%5B1000d:1ms%5D)&time=1700000000")
            #expect(huge.status == 422)
            #expect(huge.body == #"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}"#)
            let hugeRange = try await HTTP.get(s.base + "/api/v1/query_range?query=sum_over_time(vector(1)%5B30d:1ms%5D)&start=1700000000&end=1700100000&step=10")
            #expect(hugeRange.status == 422)
            let t = try await HTTP.get(s.base + "/api/v1/query?query=up&timeout=0s")
            #expect(t.status == 503)
            #expect(t.body.contains(#""errorType":"timeout""#))
        }
    }

    @Test func adminEndpoints() async throws {
        try await withServer({ $0.enableAdminAPI = true }) { s in
            let before = try await HTTP.get(s.base + "/api/v1/series?match[]=up{instance=\"c:9100\"}")
            #expect(before.body.contains("c:9100"))
            let del = try await HTTP.post(s.base + "/api/v1/admin/tsdb/delete_series", body: "match[]=up{instance=\"c:9100\"}")
            #expect(del.status == 204)
            let after = try await HTTP.get(s.base + "/api/v1/series?match[]=up{instance=\"c:9100\"}")
            #expect(after.body == #"{"status":"success","data":[]}"#)
            #expect(try await HTTP.post(s.base + "/api/v1/admin/tsdb/clean_tombstones", body: "").status == 204)
            let snap = try await HTTP.post(s.base + "/api/v1/admin/tsdb/snapshot", body: "")
            #expect(snap.status == 200)
            #expect(snap.body.hasPrefix(#"{"status":"success","data":{"name":""#))
            let bad = try await HTTP.post(s.base + "/api/v1/admin/tsdb/snapshot", body: "skip_head=maybe")
            #expect(bad.body.contains(#"invalid parameter \"skip_head\": unable to parse boolean"#))
            let noMatch = try await HTTP.post(s.base + "/api/v1/admin/tsdb/delete_series", body: "")
            #expect(noMatch.body.contains("no match[] parameter provided"))
        }
    }

    @Test func statusEndpoints() async throws {
        try await withServer { s in
            let tsdb = try await HTTP.get(s.base + "/api/v1/status/tsdb")
            #expect(tsdb.status == 200)
            #expect(tsdb.body.contains(#""seriesCountByMetricName":[{"name":"http_requests_total","value":12}"#))
            for path in ["status/buildinfo", "status/runtimeinfo", "status/flags", "metadata", "query_exemplars?query=up"] {
                let r = try await HTTP.get(s.base + "/api/v1/" + path)
                #expect(r.status == 200, "\(path): \(r.body)")
                #expect(r.body.hasPrefix(#"{"status":"success","data":"#))
            }
        }
    }

    @Test func concurrentClientsAllGetAnswers() async throws {
        try await withServer({ $0.maxConcurrency = 2 }) { s in
            let url = s.base + "/api/v1/query_range?query=sum%20by%20(job)(rate(http_requests_total%5B5m%5D))&start=1699996000&end=1700000000&step=15"
            let codes = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<24 { group.addTask { try await HTTP.get(url).status } }
                var all: [Int] = []
                for try await c in group { all.append(c) }
                return all
            }
            #expect(codes.allSatisfy { $0 == 200 }, "\(codes)")
        }
    }
}

@Suite(.blocking, .serialized) struct ConnectionTests {
    /// Many connections at once, each with a query: every one is answered and the server
    /// keeps serving (connections beyond --web.max-connections wait to be accepted).
    @Test func manyConcurrentConnections() async throws {
        try await withServer { s in
            let port = s.port
            let count = 300
            let paths = (0..<count).map { $0 % 2 == 0 ? "/api/v1/query?query=up&time=1700000000" : "/api/v1/query?query=sum(&time=1" }
            let codes = try await offPool { concurrentGets(port: port, paths: paths) }
            let ok = codes.enumerated().filter { $0.element == ($0.offset % 2 == 0 ? 200 : 400) }.count
            #expect(ok == count, "\(codes.compactMap { $0 }.count) answered of \(count): \(Set(codes.map { String(describing: $0) }))")
            #expect(try await HTTP.get(s.base + "/-/healthy").status == 200)
        }
    }
}

@Suite(.blocking) struct FormattingTests {
    @Test func goFloatFormatting() {
        #expect(GoFloat.string(1.5) == "1.5")
        #expect(GoFloat.string(100) == "100")
        #expect(GoFloat.string(1e21) == "1000000000000000000000")
        #expect(GoFloat.string(1e21, format: .e) == "1e+21")
        #expect(GoFloat.string(1.5e-9, format: .e) == "1.5e-09")
        #expect(GoFloat.string(0.1 + 0.2) == "0.30000000000000004")
        #expect(GoFloat.string(-0.0) == "-0")
        #expect(GoFloat.string(.nan) == "NaN")
        #expect(GoFloat.string(-.infinity) == "-Inf")
        #expect(GoFloat.string(123456789.125) == "123456789.125")
        #expect(GoFloat.string(1e-7) == "0.0000001")
        #expect(GoFloat.string(1.2345e-7, format: .e) == "1.2345e-07")
        #expect(GoFloat.string(5e-324, format: .e) == "5e-324")
        #expect(GoFloat.string(1e100) == "1" + String(repeating: "0", count: 100))
        #expect(GoFloat.string(-123.456) == "-123.456")
        #expect(GoFloat.string(0.001) == "0.001")
        #expect(GoFloat.string(123456789012345678) == "123456789012345680")
        #expect(GoFloat.string(2.5e22, format: .e) == "2.5e+22")
    }

    /// Random doubles of every magnitude: 'f' and 'e' read back exactly, with as many
    /// significant digits as the shortest round trip (`description`) has, in Go's layout.
    @Test func goFloatRoundTripsShortest() {
        var rng = SeededRandom(seed: 42)
        func significant(_ text: Substring) -> String {
            var d = String(text.prefix { $0 != "e" && $0 != "E" }.filter(\.isNumber))
            while d.hasPrefix("0") && d.count > 1 { d.removeFirst() }
            while d.hasSuffix("0") && d.count > 1 { d.removeLast() }
            return d
        }
        for i in 0..<20_000 {
            let v: Double
            switch i % 4 {
            case 0: v = Double(bitPattern: rng.next())  // any bit pattern
            case 1: v = Double(rng.next() % 1_000_000_000) / 1000  // three decimals
            case 2: v = Double(bitPattern: rng.next() & 0x7FFF_FFFF_FFFF_FFFF) * (rng.next() & 1 == 0 ? 1 : -1)
            default: v = (Double(rng.next() >> 11) / Double(1 << 53)) * 1e6  // counters
            }
            guard v.isFinite else { continue }
            for format in [GoFloat.Format.f, .e] {
                let text = GoFloat.string(v, format: format)
                #expect(Double(text) == v, "\(v.bitPattern) \(format): \(text)")
                #expect(significant(Substring(text)) == significant(Substring(Swift.abs(v).description)), "\(v) \(format): \(text)")
                if format == .f { #expect(!text.contains("e"), "\(text)") }
                if format == .e, v != 0 {
                    let exp = text.split(separator: "e").last ?? ""
                    #expect(exp.count >= 3 && (exp.first == "+" || exp.first == "-"), "\(text)")
                }
            }
        }
    }

    @Test func pointsAsPrometheusWritesThem() {
        var w = JSONWriter()
        w.point(timestamp: 1_700_000_000_005, value: 510423.71947228065)
        w.point(timestamp: -1, value: 1e-7)
        w.point(timestamp: 0, value: -2.5e21)
        w.point(timestamp: 12_000, value: .nan)
        w.point(timestamp: 1, value: 42)
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"[1700000000.005,"510423.71947228065"][-0.001,"1e-07"][0,"-2.5e+21"][12,"NaN"][0.001,"42"]"#)
    }

    @Test func timestampsAsJsonutilWritesThem() {
        var w = JSONWriter()
        w.timestamp(1_700_000_000_500)
        w.byte(0x20)
        w.timestamp(-1500)
        w.byte(0x20)
        w.timestamp(5)
        #expect(String(decoding: w.bytes, as: UTF8.self) == "1700000000.500 -1.500 0.005")
    }

    @Test func timeParameters() throws {
        #expect(try TimeParsing.parseTime("1700000000.123").milliseconds == 1_700_000_000_123)
        #expect(try TimeParsing.parseTime("-1.5").milliseconds == -1500)
        #expect(try TimeParsing.parseTime("2023-11-14T22:13:20.123456Z").milliseconds == 1_700_000_000_123)
        #expect(try TimeParsing.parseTime("2023-11-14T23:13:20+01:00").milliseconds == 1_700_000_000_000)
        #expect(try TimeParsing.parseTime(GoTime.maxTimeFormatted) == GoTime.maxTime)
        #expect(throws: ParamError.self) { try TimeParsing.parseTime("2023-13-01T00:00:00Z") }
        #expect(throws: ParamError.self) { try TimeParsing.parseTime("0x10") }
        #expect(try TimeParsing.parseDuration("1m30s") == 90_000_000_000)
        #expect(try TimeParsing.parseDuration("0.5") == 500_000_000)
        #expect(TimeParsing.formatRFC3339(GoTime(seconds: 1_700_000_000, nanoseconds: 5_000_000)) == "2023-11-14T22:13:20.005Z")
    }

    @Test func formsAsGoParsesThem() {
        var f = FormValues()
        f.parse(query: Array("a=1&b=x+y%21&a=2&bad=%zz&c".utf8))
        #expect(f.first("a") == "1")
        #expect(f.all("a") == ["1", "2"])
        #expect(f.first("b") == "x y!")
        #expect(f.has("c"))
        #expect(f.error == #"invalid URL escape "%zz""#)
    }
}
