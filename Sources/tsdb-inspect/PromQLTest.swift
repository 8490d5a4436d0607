import ArgumentParser
import PromQL

/// `tsdb-inspect promql-test FILE...`: runs PromQL test scripts in the format of Prometheus
/// 2.42's `promql/testdata/*.test` against a fresh database per file.
struct PromQLTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promql-test",
        abstract: "Run PromQL test files (Prometheus 2.42's promql/testdata format).",
        discussion: """
            Each file gets a new database in a temporary directory (removed afterwards);
            `load` appends to it, `clear` starts another, and every `eval` is checked as
            Prometheus's test runner checks it: the instant query, the same query with
            `@ <eval time>` on every selector at five other times, and each as a range query
            around the eval time. Failures print as `file:line: message`; the last line is
            `N passed, M failed`. Exit status 1 when anything failed.

            Example:
              tsdb-inspect promql-test Tests/PromQLTests/testdata/*.test
            """)

    @Argument(help: "The test files.")
    var files: [String]

    @Flag(name: [.customLong("verbose"), .customShort("v")], help: "Print each file's counts too.")
    var verbose = false

    func run() throws {
        let runner = PromQLTestRunner()
        var total = PromQLTestRunner.Report()
        for file in files {
            let report = runner.run(file: file)
            for failure in report.failures { print(failure.description) }
            if verbose { print("\(file): \(report.passed) passed, \(report.failed) failed") }
            total.add(report)
        }
        print("\(total.passed) passed, \(total.failed) failed")
        if total.failed > 0 { throw ExitCode.failure }
    }
}
