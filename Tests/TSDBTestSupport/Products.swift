import Foundation

/// The package's executables, as built next to the test bundle by `swift test`.
public enum Products {
    /// Path of executable `name` in the build directory that holds this test process.
    public static func path(_ name: String) throws -> String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // The test binary lives in <build>/swift-tsdbPackageTests.xctest (a file on Linux).
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw CommandFailure(description: "\(name) is not built next to \(exe.path); run `swift build` first")
    }

}
