import Foundation
import TSDB
import TSDBTestSupport

/// Data directories and helpers for the `tsdb-inspect` tests.
enum InspectFixtures {
    static var variedOpenMetrics: String { Repository.path("Fixtures/inspect/varied.om") }

    static func tool() throws -> String { try Products.path("tsdb-inspect") }

    /// Blocks `promtool tsdb create-blocks-from openmetrics` makes of `input`, in a new
    /// directory with the empty `wal` that `promtool tsdb dump` needs.
    static func promtoolBlocks(from input: String) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("inspect-promtool")
        try Promtool.run(["tsdb", "create-blocks-from", "openmetrics", input, dir.path])
        try FileManager.default.createDirectory(atPath: dir.path + "/wal", withIntermediateDirectories: true)
        return dir
    }

    /// A directory our engine wrote: blocks cut from the head, then more samples left in the
    /// head (WAL only), with special values and awkward label values.
    static func engineDirectory(seed: UInt64 = 6) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("inspect-engine")
        var options = Options()
        options.compactionEnabled = false
        let db = try DB.open(directory: dir.path, options: options)
        var rng = SeededRandom(seed: seed)
        let sets = [
            try Labels(["__name__": "inspect_up", "job": "api"]),
            try Labels(["__name__": "inspect_up", "job": "web", "path": "C:\\x \"q\"\nz"]),
            try Labels(["__name__": "inspect_temp", "city": "Zürich ☃"]),
            try Labels(["__name__": "inspect_rand", "kind": "bits"]),
        ]
        // 6 h of samples every 15 s: the head spans more than 1.5 block ranges, so compact()
        // cuts blocks and keeps the rest in the head and the WAL.
        for i in 0..<(6 * 240) {
            var app = try db.appender()
            let t = Int64(1_700_000_000_000) + Int64(i) * 15_000
            for (j, ls) in sets.enumerated() {
                let v: Double = j == 3 ? InterestingValues.random(using: &rng) : Double(i * (j + 1))
                try app.append(ls, timestamp: t + Int64(j), value: v)
            }
            try app.commit()
        }
        try db.compact()
        try db.close()
        return dir
    }

    /// A digest of every file's path, size and bytes under `directory`.
    static func checksum(_ directory: String) throws -> String {
        let fm = FileManager.default
        var entries: [String] = []
        guard let walker = fm.enumerator(atPath: directory) else { return "" }
        for case let path as String in walker { entries.append(path) }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) { for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
        for path in entries.sorted() {
            mix(path.utf8)
            var isDir: ObjCBool = false
            fm.fileExists(atPath: directory + "/" + path, isDirectory: &isDir)
            if !isDir.boolValue { mix(fm.contents(atPath: directory + "/" + path) ?? Data()) }
        }
        return "\(entries.count) entries, \(String(h, radix: 16))"
    }
}
