import Foundation
import Testing
import TSDB
import TSDBTestSupport
@testable import PromQL

/// Runs every file of Tests/PromQLTests/testdata through the runner; an eval the engine
/// answers differently from Prometheus 2.42 fails here with its file and line.
@Suite(.heavy) struct TestDataTests {
    static let directory = Repository.path("Tests/PromQLTests/testdata")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".test") }.sorted()
    }

    @Test func thereAreTestFiles() {
        #expect(Self.files.count >= 10)
    }

    /// Every file parses without a diagnostic.
    @Test(arguments: files)
    func parses(_ name: String) throws {
        let text = try String(contentsOfFile: Self.directory + "/" + name, encoding: .utf8)
        let script = PromQLTestScript.parse(text, file: name)
        #expect(script.diagnostics == [], "\(script.diagnostics)")
        #expect(script.commands.contains { if case .eval = $0 { true } else { false } })
        for case .eval(let e) in script.commands {
            #expect(e.expr != nil, "\(name):\(e.line): \(e.parseError ?? "")")
        }
    }

    /// Every eval of every file passes.
    @Test(arguments: files)
    func passes(_ name: String) {
        let report = PromQLTestRunner().run(file: Self.directory + "/" + name)
        #expect(report.passed > 0)
        #expect(report.failures.isEmpty, "\(report.failures.prefix(20).map(\.description).joined(separator: "\n"))")
    }

    /// A load the database rejects is a failure at the load's line; evals after it still run.
    @Test func loadFailuresAreReported() {
        let script = PromQLTestScript.parse("load 1m\n  {} 1 2\n\neval_fail instant at 0 1 +\n", file: "x.test")
        let report = PromQLTestRunner().run(script)
        #expect(report.failures.map(\.line).first == 1)
        #expect(report.failures.first?.description.hasPrefix("x.test:1: load") == true)
        // The unparsable query fails its eval, even as eval_fail (Prometheus stops there).
        #expect(report.failures.count == 2)
    }
}
