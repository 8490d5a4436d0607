import Foundation
import Testing
import TSDBTestSupport

/// The engine's folders depend on each other in one direction only (README, "Layout");
/// `scripts/check-layers.py` finds each type's folder and fails on an edge that points up.
@Suite(.heavy) struct LayerCheckTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: python != nil, "python3 is not installed"))
    func noFolderUsesOneAboveIt() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python!)
        process.arguments = [Self.root.appendingPathComponent("scripts/check-layers.py").path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        // The graph it printed names the top folder, so the script did read the sources.
        #expect(text.contains("DB -> "), "\(text)")
    }
}
