// swift-tools-version: 6.1
// Standalone benchmark: which regex engine should back Prometheus `=~` / `!~` matchers?
// Run: cd Benchmarks/RegexEngines && swift run -c release regex-engines
import PackageDescription

let package = Package(
    name: "RegexEngines",
    targets: [
        .systemLibrary(
            name: "CPCRE2",
            path: "Sources/CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .executableTarget(name: "regex-engines", dependencies: ["CPCRE2"]),
    ],
    swiftLanguageModes: [.v6]
)
