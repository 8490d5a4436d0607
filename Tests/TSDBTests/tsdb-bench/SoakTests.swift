import Foundation
import Testing
import TSDBTestSupport

/// `tsdb-bench soak` for a short while (TSDB_SOAK_SECONDS, 120 by default): ingest with
/// series churn, queries, deletes, head cuts, merges and retention on a fast-forward clock.
/// It must exit 0 (disk within the size limit, descriptors and mappings bounded, none left
/// after close), and blocks must have been cut and deleted along the way.
@Suite(.heavy) struct SoakTests {
    static var seconds: Int { ProcessInfo.processInfo.environment["TSDB_SOAK_SECONDS"].flatMap(Int.init) ?? 120 }

    @Test func resourcesStayBounded() throws {
        let bench = try TortureTests.product("tsdb-bench")
        let dir = try TemporaryDirectory("soak")
        defer { dir.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bench)
        // Sized for a debug build on a shared machine: 300 series, so ingest keeps up with
        // the clock; retention small enough to delete blocks within the first minute.
        process.arguments = ["soak", "--duration", "\(Self.seconds)", "--out", dir.path + "/data", "--interval", "\(max(5, Self.seconds / 4))",
                             "--series", "300", "--retention-duration", "\(12 * 3_600_000)", "--retention-size", "\(4 << 20)",
                             "--max-block-duration", "\(6 * 3_600_000)"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(text)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("soak: ok"), "\(text)")
        // "blocks start 0 end E max M (S seen, D of them deleted since)"
        let line = text.split(separator: "\n").first { $0.contains("seen,") }.map(String.init) ?? ""
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        try #require(numbers.count >= 5, "no blocks line in \(text)")
        let seen = numbers[3], deleted = numbers[4]
        if Self.seconds >= 60 {
            #expect(seen >= 5, "blocks seen: \(line)")
            #expect(deleted >= 2, "blocks deleted: \(line)")
        }
    }
}
