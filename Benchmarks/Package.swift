// swift-tools-version: 6.1
// Micro-benchmarks for the TSDB library on ordo-one/package-benchmark.
// A separate package so that the root package's `swift build` never pays for the dependency.
// Run: cd Benchmarks && swift package benchmark   (see README.md)
import PackageDescription

let package = Package(
    name: "TSDBBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Without the trait, resolution tries to clone jemalloc, which the mirror does not hold.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "swift-tsdb", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "TSDBBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TSDB", package: "swift-tsdb"),
            ],
            path: "Benchmarks/TSDBBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
