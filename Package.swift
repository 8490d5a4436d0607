// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-tsdb",
    products: [
        .library(name: "TSDB", targets: ["TSDB"]),
        .library(name: "PromQL", targets: ["PromQL"]),
        .executable(name: "tsdb-bench", targets: ["tsdb-bench"]),
        .executable(name: "tsdb-inspect", targets: ["tsdb-inspect"]),
        .library(name: "TSDBServer", targets: ["TSDBServer"]),
        .executable(name: "tsdb-server", targets: ["tsdb-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Server only: TSDB and PromQL never depend on these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // System libraries from Debian (see README: apt-get install libsnappy-dev liblz4-dev libpcre2-dev).
        .systemLibrary(
            name: "CSnappy", path: "Sources/CSnappy", pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(
            name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(
            name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]),
        // CRC-32C with an SSE4.2 path chosen at run time and a portable fallback.
        .target(name: "CCRC32C", path: "Sources/CCRC32C"),

        .target(
            name: "TSDB",
            dependencies: [
                "CCRC32C", "CSnappy", "CLZ4", "CPCRE2",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/TSDB"),

        // Prometheus text and OpenMetrics: the parser `import` reads with, the writer `dump` uses.
        .target(name: "Exposition", dependencies: ["TSDB"], path: "Sources/Exposition"),
        // What only the CLIs need: verify, import, analyze, block listing, WAL walking, promtool's formatting.
        .target(name: "TSDBTools", dependencies: ["TSDB", "Exposition"], path: "Sources/TSDBTools"),

        // The crash tests' workload, shared by `tsdb-bench torture` and the tests that kill it.
        .target(name: "TortureWorkload", dependencies: ["TSDB"], path: "Sources/TortureWorkload"),

        .executableTarget(
            name: "tsdb-bench",
            dependencies: ["TSDB", "PromQL", "TortureWorkload", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/tsdb-bench"),
        .executableTarget(
            name: "tsdb-inspect",
            dependencies: ["TSDB", "Exposition", "TSDBTools", "PromQL", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/tsdb-inspect"),

        .target(name: "TSDBFuzzHarness", dependencies: ["TSDB", "Exposition"], path: "Sources/TSDBFuzzHarness"),
        // The fuzz targets in one binary; see scripts/fuzz.sh and Fixtures/fuzz/README.md.
        .executableTarget(name: "tsdb-fuzz", dependencies: ["TSDBFuzzHarness"], path: "Sources/tsdb-fuzz"),

        .target(name: "PromQL", dependencies: ["TSDB", "Exposition"], path: "Sources/PromQL"),
        .testTarget(
            name: "PromQLTests", dependencies: ["PromQL", "TSDB", "Exposition", "TSDBTestSupport"], path: "Tests/PromQLTests",
            exclude: ["testdata", "Parser/Fixtures", "Differential/Fixtures"]),

        // Prometheus's HTTP API over Hummingbird 2, for a daemon to mount; and the executable.
        .target(
            name: "TSDBServer",
            dependencies: [
                "TSDB", "PromQL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/TSDBServer"),
        .executableTarget(
            name: "tsdb-server",
            dependencies: [
                "TSDBServer", "TSDB", "PromQL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/tsdb-server"),
        .testTarget(
            name: "TSDBServerTests",
            dependencies: [
                "TSDBServer", "TSDB", "PromQL", "TSDBTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TSDBServerTests"),

        .target(name: "TSDBTestSupport", dependencies: ["TSDB"], path: "Tests/TSDBTestSupport"),
        .testTarget(
            name: "TSDBTests",
            dependencies: [
                "TSDB", "TSDBTestSupport", "TortureWorkload", "TSDBFuzzHarness", "Exposition", "TSDBTools",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/TSDBTests",
            resources: []),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition", "TSDB", "TSDBTestSupport"], path: "Tests/ExpositionTests"),
        .testTarget(name: "TSDBToolsTests", dependencies: ["TSDBTools", "Exposition", "TSDB", "TSDBTestSupport"], path: "Tests/TSDBToolsTests"),
    ]
)
