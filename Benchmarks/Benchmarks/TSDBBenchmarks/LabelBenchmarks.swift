import Benchmark
import TSDB

/// Matchers and the selector parser. Each iteration runs 1000 operations
/// (`scalingFactor: .kilo`); the default output is scaled to one operation.
func registerLabelBenchmarks() {
    let perOperation = Benchmark.Configuration(scalingFactor: .kilo)

    // (name, regex, a value it matches, a value it rejects). Each iteration alternates the two.
    // `Matcher` skips PCRE2 for literals, `lit.*`, `.*lit`, `.*lit.*` and `a|b|c`; see ValueTest.
    let regexes: [(String, String, String, String)] = [
        ("prefix fast path node_.*", "node_.*", "node_cpu_seconds_total", "process_cpu_seconds_total"),
        ("set fast path api|web|db", "api|web|db", "web", "worker"),
        ("PCRE2 a.*b", "a.*b", "a-rather-long-label-value-b", "a-rather-long-label-value-c"),
        ("PCRE2 (get|put)_[0-9]+_total", "(get|put)_[0-9]+_total", "put_200_total", "put_20x_total"),
    ]
    for (name, regex, hit, miss) in regexes {
        Benchmark("Matcher =~ \(name)", configuration: perOperation) { benchmark in
            let matcher = try Matcher(.regexMatch, "l", regex)
            precondition(matcher.matches(hit) && !matcher.matches(miss))
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                blackHole(matcher.matches(i & 1 == 0 ? hit : miss))
            }
        }
    }

    Benchmark("Matcher init =~ (get|put)_[0-9]+_total", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Matcher(.regexMatch, "l", "(get|put)_[0-9]+_total"))
        }
    }

    let selector = #"http_requests_total{job="api", code=~"5..", instance!="host-1:9090"}"#
    Benchmark("Selector.parse 4 matchers", configuration: perOperation) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Selector.parse(selector))
        }
    }
}
