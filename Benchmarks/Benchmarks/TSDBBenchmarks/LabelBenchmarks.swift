import Benchmark
import TSDB

/// Matchers and the selector parser. Each iteration runs 1000 operations
/// (`scalingFactor: .kilo`): with `--scale` the figures read per operation.
func registerLabelBenchmarks() {
    let perOperation = Benchmark.Configuration(scalingFactor: .kilo)

    // (name, kind, regex, a value it matches, a value it rejects)
    let regexes: [(String, String, String, String)] = [
        ("prefix+suffix a.*b", "a.*b", "a-rather-long-label-value-b", "a-rather-long-label-value-c"),
        ("alternation api|web|db", "api|web|db", "web", "worker"),
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
