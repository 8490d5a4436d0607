import Foundation

/// Runs Debian's `promtool`, the independent oracle for compatibility tests.
public enum Promtool {
    public static let path: String? = {
        for p in ["/usr/bin/promtool", "/usr/local/bin/promtool"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return nil
    }()

    public static var isAvailable: Bool { path != nil }

    /// Runs promtool with `arguments`, returning its standard output; throws on failure.
    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        guard let path else { throw CommandFailure(description: "promtool is not installed (apt-get install -y prometheus)") }
        return try Command.run(path, arguments)
    }
}

public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

public enum Command {
    /// Runs an executable and returns its standard output; throws with stderr on a non-zero exit.
    @discardableResult
    public static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let result = try runStatus(path, arguments, environment: environment)
        guard result.status == 0 else {
            throw CommandFailure(description: "\(path) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    public static func runStatus(_ path: String, _ arguments: [String], environment: [String: String]? = nil)
        throws -> (status: Int32, stdout: String, stderr: String)
    {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        if let environment { p.environment = environment }
        // Standard error goes to a file, so a chatty child cannot block on a full pipe.
        let errPath = NSTemporaryDirectory() + "cmd-stderr-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard FileManager.default.createFile(atPath: errPath, contents: nil) else {
            throw CommandFailure(description: "cannot create \(errPath)")
        }
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let stderrData = FileManager.default.contents(atPath: errPath) ?? Data()
        return (p.terminationStatus, String(decoding: stdoutData, as: UTF8.self), String(decoding: stderrData, as: UTF8.self))
    }
}
