import Foundation
import TSDB

/// A fresh directory under the system temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ prefix: String = "tsdb-test") throws {
        let base = NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs `body` with a new directory and removes it afterwards.
    public static func with<T>(_ body: (String) throws -> T) throws -> T {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        return try body(dir.path)
    }
}

/// Where the repository's files are, found from this source file's location.
public enum Repository {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static func path(_ relative: String) -> String { root + "/" + relative }
}

extension TemporaryDirectory {
    /// A fresh directory holding `<dir>/wal/NNNNNNNN` files with the given bytes.
    public static func withWAL<T>(_ segments: [Int: [UInt8]], _ body: (String) throws -> T) throws -> T {
        try with { dir in
            try FileManager.default.createDirectory(atPath: dir + "/wal", withIntermediateDirectories: true)
            for (index, bytes) in segments { try TestFiles.write(bytes, to: dir + "/wal/" + WALFormat.segmentName(index)) }
            return try body(dir)
        }
    }
}
