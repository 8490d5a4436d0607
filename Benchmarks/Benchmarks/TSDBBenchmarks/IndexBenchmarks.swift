import Benchmark
import Foundation
@_spi(Benchmarks) import TSDB

/// Postings intersection and merging, and series lookups in the index of a 100k-series block.
func registerIndexBenchmarks() {
    var rng = SystemRandomNumberGenerator()
    func sortedRefs(_ count: Int, in range: UInt64) -> [UInt64] {
        var set = Set<UInt64>()
        while set.count < count { set.insert(UInt64.random(in: 1...range, using: &rng) * 16) }
        return set.sorted()
    }
    let large = sortedRefs(100_000, in: 1_000_000)
    let small = sortedRefs(1_000, in: 1_000_000)
    let thirds = (0..<3).map { _ in sortedRefs(50_000, in: 200_000) }
    let tenths = (0..<10).map { _ in sortedRefs(10_000, in: 1_000_000) }
    let perList = mallocGuard ? Benchmark.Configuration(scalingFactor: .one)
        : Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(2))

    // A selective matcher against a broad one: gallops through the long list.
    Benchmark("Postings intersect 1k ∩ 100k", configuration: perList) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(IndexBenchmarkSupport.intersect([small, large])) }
    }
    // Three broad matchers of similar size: a linear merge-walk.
    Benchmark("Postings intersect 3 × 50k", configuration: perList) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(IndexBenchmarkSupport.intersect(thirds)) }
    }
    // A regex matching ten values: the union of their lists.
    Benchmark("Postings merge 10 × 10k", configuration: perList) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(IndexBenchmarkSupport.merge(tenths)) }
    }

    let fixture = try! BlockFixture(seriesCount: 100_000)
    let block = try! FileManager.default.contentsOfDirectory(atPath: fixture.directory.path).first { $0.count == 26 }!
    let index = try! IndexBenchmarkSupport.Index(path: fixture.directory.path + "/" + block + "/index")
    let refs = try! index.allPostings()
    let lookups = (0..<1_000).map { _ in refs.randomElement(using: &rng)! }

    // Decoding one series entry (labels from the symbol table, chunk metas) by reference.
    Benchmark("Index series lookup ×1000 (random refs of 100k)", configuration: perList) { benchmark in
        for _ in benchmark.scaledIterations {
            for r in lookups { blackHole(try index.series(r)) }
        }
    }
    // Finding a postings list through the sampled postings offset table.
    Benchmark("Index postings lookup instance=host-512:9100", configuration: perList) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try index.postings("instance", "host-512:9100")) }
    }
}
