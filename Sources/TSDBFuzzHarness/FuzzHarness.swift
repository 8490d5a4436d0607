import Foundation
import TSDB

/// The fuzz targets of `tsdb-fuzz` and of the corpus replay test: each takes one input,
/// lays it out as the files its decoder reads (in a per-process scratch directory, on tmpfs
/// when there is one), and runs the decoder's driver (``FuzzDrivers``).
///
/// One thread at a time: targets reuse the scratch directory.
package enum FuzzHarness {
    /// Target names, as `TSDB_FUZZ_TARGET` and `Fixtures/fuzz/<target>/` spell them.
    package static let targets = [
        "index", "chunks", "xor", "meta", "tombstones", "wal", "records", "checkpoint", "replay",
        "head-chunks", "selector", "text", "openmetrics", "remote-write",
    ]

    /// Runs `target` on `data`, and for checksummed formats again with the checksums
    /// repaired (``FuzzChecksums``), which reaches the decoding behind them. Throws when an
    /// invariant broke; a trap is a crash.
    package static func run(_ target: String, _ data: [UInt8]) throws {
        try runOnce(target, data)
        var fixed = data
        switch target {
        case "index": FuzzChecksums.index(&fixed)
        case "chunks": FuzzChecksums.chunkSegment(&fixed)
        case "head-chunks": FuzzChecksums.headChunkFile(&fixed)
        case "wal", "checkpoint", "replay": FuzzChecksums.walSegment(&fixed)
        case "tombstones": FuzzChecksums.tombstones(&fixed)
        default: return
        }
        if fixed != data { try runOnce(target, fixed) }
    }

    private static func runOnce(_ target: String, _ data: [UInt8]) throws {
        switch target {
        case "index": try FuzzDrivers.index(data)
        case "xor": try FuzzDrivers.xor(data)
        case "meta": try FuzzDrivers.meta(data)
        case "tombstones": try FuzzDrivers.tombstones(data)
        case "wal": try FuzzDrivers.walSegment(data)
        case "records": try FuzzDrivers.records(data)
        case "selector": try FuzzDrivers.selector(data)
        case "text": try FuzzDrivers.text(data, openMetrics: false)
        case "openmetrics": try FuzzDrivers.text(data, openMetrics: true)
        case "remote-write": try FuzzDrivers.remoteWrite(data)
        case "chunks":
            let dir = try scratch("chunks")
            try write(data, to: dir + "/000001")
            try FuzzDrivers.chunks(directory: dir)
        case "head-chunks":
            let dir = try scratch("chunks_head")
            try write(data, to: dir + "/000001")
            try FuzzDrivers.headChunks(directory: dir)
        case "checkpoint":
            let wal = try scratch("wal")
            try FileManager.default.createDirectory(atPath: wal + "/checkpoint.00000000", withIntermediateDirectories: true)
            try write(data, to: wal + "/checkpoint.00000000/00000000")
            try write([], to: wal + "/00000001")
            try FuzzDrivers.checkpoint(walDirectory: wal, lastSegment: 1)
        case "replay":
            let dir = try scratch("data")
            try FileManager.default.createDirectory(atPath: dir + "/wal", withIntermediateDirectories: true)
            try write(data, to: dir + "/wal/00000000")
            try FuzzDrivers.replay(dataDirectory: dir)
        default:
            throw UnknownTarget(name: target)
        }
    }

    package struct UnknownTarget: Error, CustomStringConvertible {
        package var name: String
        package var description: String { "unknown fuzz target \(name); targets: \(FuzzHarness.targets.joined(separator: ", "))" }
    }

    /// Runs every file of `directory` (not `README*`, not hidden) through `target`, in name
    /// order. Returns how many ran and the failures, one line each.
    package static func replay(_ target: String, directory: String) throws -> (files: Int, failures: [String]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { !$0.hasPrefix(".") && !$0.hasPrefix("README") }
            .sorted()
        var failures: [String] = []
        for name in names {
            let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
            do { try run(target, data) } catch { failures.append("\(name): \(error)") }
        }
        return (names.count, failures)
    }

    /// The per-process scratch root, made on first use and removed at exit.
    private static let root: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/tsdb-fuzz-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: FuzzHarness.rootForCleanup) }
        return path
    }()
    private static let rootForCleanup: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return base + "/tsdb-fuzz-\(getpid())"
    }()

    /// An empty directory `root/name`.
    private static func scratch(_ name: String) throws -> String {
        let path = root + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private static func write(_ data: [UInt8], to path: String) throws {
        try Data(data).write(to: URL(fileURLWithPath: path))
    }
}
