import Benchmark

// Entry point the BenchmarkPlugin looks for. Each group registers its benchmarks; run one
// with `swift package benchmark --filter '<regex on the name>'`.
let benchmarks: @Sendable () -> Void = {
    // Shared defaults: the three metrics every figure in README.md quotes.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 10_000
    )
    registerChunkBenchmarks()
    registerHeadBenchmarks()
    registerLabelBenchmarks()
    registerBlockBenchmarks()
    registerIndexBenchmarks()
}
