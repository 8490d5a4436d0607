import Benchmark
import Foundation

// Entry point the BenchmarkPlugin looks for. Each group registers its benchmarks; run one
// with `swift package benchmark --filter '<regex on the name>'`.
/// CI's regression guard: malloc counts only (see below).
let mallocGuard = ProcessInfo.processInfo.environment["TSDB_BENCH_MALLOC_GUARD"] != nil

let benchmarks: @Sendable () -> Void = {
    // Shared defaults: the three metrics every figure in README.md quotes. With
    // TSDB_BENCH_MALLOC_GUARD set, only the malloc counts, which are deterministic, in short
    // runs: what CI checks against the thresholds in Thresholds/ (README.md, "Regression guard").
    if mallocGuard {
        Benchmark.defaultConfiguration = .init(
            metrics: [.mallocCountTotal],
            warmupIterations: 1,
            maxDuration: .milliseconds(300),
            maxIterations: 20,
            thresholds: [.mallocCountTotal: .init(relative: [.p90: 5])]
        )
    } else {
        Benchmark.defaultConfiguration = .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal],
            warmupIterations: 3,
            maxDuration: .seconds(2),
            maxIterations: 10_000
        )
    }
    registerChunkBenchmarks()
    registerHeadBenchmarks()
    registerLabelBenchmarks()
    registerBlockBenchmarks()
    registerIndexBenchmarks()
}
