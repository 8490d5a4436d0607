import Foundation
import Testing
import TSDBFuzzHarness
import TSDBTestSupport

/// Replays the fuzz corpora kept in `Fixtures/fuzz/<target>/` (grown and minimised by
/// `scripts/fuzz.sh`, crashing inputs included once fixed) through the same harness code
/// `tsdb-fuzz` runs: every file must decode or be refused, with every invariant holding,
/// and without a trap (which would stop the test process).
/// Serialized: the harness reuses one scratch directory per process.
@Suite(.heavy, .serialized) struct FuzzCorpusTests {
    @Test(arguments: FuzzHarness.targets)
    func corpusReplaysCleanly(target: String) throws {
        let directory = Repository.path("Fixtures/fuzz/\(target)")
        let (files, failures) = try FuzzHarness.replay(target, directory: directory)
        #expect(files > 0, "no corpus in \(directory)")
        for failure in failures { Issue.record("\(target): \(failure)") }
    }

    /// The seeds `scripts/fuzz.sh seeds` starts from (the engine's own files) hold every
    /// invariant too.
    @Test func engineSeedsReplayCleanly() throws {
        try TemporaryDirectory.with { dir in
            try FuzzHarness.makeSeeds(into: dir)
            for target in FuzzHarness.targets {
                let (_, failures) = try FuzzHarness.replay(target, directory: dir + "/" + target)
                for failure in failures { Issue.record("\(target): \(failure)") }
            }
        }
    }
}
