import Dispatch
import Foundation
import Testing
import TSDBTestSupport
import TSDBTools

import TSDB

/// Issue 11, "no input can crash the engine": a real data directory (two blocks with
/// tombstones, a WAL, `chunks_head/`) with one file damaged in a copy — bits flipped, 3 KB
/// zeroed, truncated, extended, a length field set huge — opened through every reader:
/// `DB.openReadOnly` and `DB.open` (each then queried for every sample) and every reading
/// `tsdb-inspect` command in-process (list, dump, analyze, verify, dump-wal).
///
/// Pass: each returns or throws. A trap kills the test process, and an iteration that runs
/// longer than the watchdog's limit stops it too; both print the seed and the iteration.
/// 300 iterations by default; `TSDB_MUTATION_ITERATIONS=100000` for a long run,
/// `TSDB_TEST_SEED` to replay one.
@Suite(.heavy) struct MutationTests {
    static let iterations = ProcessInfo.processInfo.environment["TSDB_MUTATION_ITERATIONS"].flatMap(Int.init) ?? 300

    @Test func damagedDataDirectoriesNeverTrap() throws {
        let pristine = try TemporaryDirectory("mutation-pristine")
        defer { pristine.remove() }
        try Self.makeDataDirectory(pristine.path)
        let files = try Self.files(in: pristine.path)
        #expect(files.contains { $0.hasSuffix("/index") } && files.contains { $0.hasPrefix("wal/") }
                && files.contains { $0.hasPrefix("chunks_head/") } && files.contains { $0.hasSuffix("/tombstones") })

        var rng = SeededRandom.fromEnvironment()
        let seed = rng.seed
        let watchdog = Watchdog(limit: 60)
        var outcomes: [String: Int] = [:]
        for iteration in 0..<Self.iterations {
            let copy = try TemporaryDirectory("mutation")
            defer { copy.remove() }
            try FileManager.default.removeItem(atPath: copy.path)
            try FileManager.default.copyItem(atPath: pristine.path, toPath: copy.path)
            let file = files[Int(rng.next() % UInt64(files.count))]
            let mutation = try Self.mutate(copy.path + "/" + file, &rng)
            let context = "seed \(seed), iteration \(iteration): \(file) \(mutation)"
            watchdog.arm(context)
            for (name, open) in Self.readers {
                let outcome: String
                do { try open(copy.path); outcome = "ok" } catch let error as TSDBError {
                    outcome = "\(error.code)"
                } catch {
                    outcome = "other"
                }
                outcomes["\(name): \(outcome)", default: 0] += 1
            }
            watchdog.disarm()
        }
        // Damage must be seen somewhere; the figures go to the log for the record.
        print("MutationTests: \(Self.iterations) iterations, seed \(seed): " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        #expect(outcomes.keys.contains { $0.hasSuffix(": corruption") })
    }

    /// Every reading entry point, in the order a user would meet them; `DB.open` last, as
    /// it may repair (cut a torn WAL tail, drop a damaged `chunks_head/` file).
    static let readers: [(String, @Sendable (String) throws -> Void)] = [
        ("list", { dir in _ = try Inspect.blocks(in: dir) }),
        ("dump", { dir in
            let db = try DB.openReadOnly(directory: dir)
            defer { try? db.close() }
            try queryEverything(db)
        }),
        ("analyze", { dir in _ = try Inspect.analyze(directory: dir, block: nil) }),
        ("verify", { dir in _ = try Inspect.verify(directory: dir) }),
        ("dump-wal", { dir in _ = try Inspect.walkWAL(directory: dir) { _ in } }),
        ("open", { dir in
            var options = Options()
            options.compactionEnabled = false
            let db = try DB.open(directory: dir, options: options)
            defer { try? db.close() }
            try queryEverything(db)
        }),
    ]

    /// Every sample of every series, label names and values: the readers' whole surface.
    static func queryEverything(_ db: DB) throws {
        let q = try db.querier(minTime: .min, maxTime: .max)
        for series in try q.select([try Matcher(.regexMatch, "__name__", ".*")]) {
            var it = series.makeIterator()
            while it.next() != nil {}
            if let error = it.error { throw error }
        }
        for name in try q.labelNames() { _ = try q.labelValues(name) }
    }

    /// Two blocks (one with tombstones), then more samples in the head: a WAL of several
    /// segments and `chunks_head/` files.
    static func makeDataDirectory(_ dir: String) throws {
        var options = Options()
        options.compactionEnabled = false
        options.walSegmentSize = 32 * 1024
        let db = try DB.open(directory: dir, options: options)
        let sets = [
            try Labels(["__name__": "up", "job": "api"]),
            try Labels(["__name__": "up", "job": "web", "path": "C:\\x \"q\"\nz"]),
            try Labels(["__name__": "temp", "city": "Zürich ☃"]),
            try Labels(["__name__": "bits", "kind": "random"]),
        ]
        var rng = SeededRandom(seed: 11)
        for i in 0..<(5 * 240) {
            var app = try db.appender()
            let t = Int64(1_700_000_000_000) + Int64(i) * 15_000
            for (j, labels) in sets.enumerated() {
                let v = j == 3 ? Double(bitPattern: rng.next()) : Double(i * (j + 1)) / 4
                try app.append(labels, timestamp: t + Int64(j), value: v)
            }
            try app.commit()
        }
        _ = try db.compact()
        try db.delete(#"up{job="api"}"#, minTime: 1_700_000_000_000, maxTime: 1_700_001_000_000)
        try db.close()
    }

    /// Regular files under `dir`, as paths relative to it, sorted; the lock file left out.
    static func files(in dir: String) throws -> [String] {
        var out: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: dir)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: dir + "/" + path, isDirectory: &isDirectory)
            if !isDirectory.boolValue && !path.hasSuffix("lock") { out.append(path) }
        }
        return out.sorted()
    }

    /// Damages the file at `path` one way, chosen by `rng`; returns what it did.
    static func mutate(_ path: String, _ rng: inout SeededRandom) throws -> String {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let what: String
        func offset(_ rng: inout SeededRandom) -> Int { bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count)) }
        switch rng.next() % 7 {
        case 0 where !bytes.isEmpty:
            let n = 1 + Int(rng.next() % 8)
            for _ in 0..<n { bytes[offset(&rng)] ^= UInt8(1) << (rng.next() % 8) }
            what = "\(n) bit(s) flipped"
        case 1 where !bytes.isEmpty:
            let at = offset(&rng)
            let end = min(bytes.count, at + 1 + Int(rng.next() % 3_072))
            for i in at..<end { bytes[i] = 0 }
            what = "zeroed \(at)..<\(end)"
        case 2:
            let length = offset(&rng)
            bytes.removeSubrange(length...)
            what = "truncated to \(length)"
        case 3:
            let n = 1 + Int(rng.next() % 4_096)
            let zeros = rng.next() % 2 == 0
            bytes += (0..<n).map { _ in zeros ? 0 : UInt8(truncatingIfNeeded: rng.next()) }
            what = "extended by \(n) \(zeros ? "zero" : "random") bytes"
        case 4 where bytes.count >= 8:
            // A length or count field set huge: a 4- or 8-byte big-endian field, or a uvarint 2^60.
            let at = Int(rng.next() % UInt64(bytes.count - 7))
            let forms: [[UInt8]] = [[0xff, 0xff, 0xff, 0xff], [0x7f, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                                    [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], [0xff, 0xff, 0xff, 0xff, 0x0f]]
            let form = forms[Int(rng.next() % UInt64(forms.count))]
            for (k, b) in form.enumerated() where at + k < bytes.count { bytes[at + k] = b }
            what = "huge length \(form) at \(at)"
        case 5 where !bytes.isEmpty:
            let n = 1 + Int(rng.next() % 16)
            for _ in 0..<n { bytes[offset(&rng)] = UInt8(truncatingIfNeeded: rng.next()) }
            what = "\(n) random byte(s)"
        default:
            let at = offset(&rng)
            let n = min(bytes.count - at, 1 + Int(rng.next() % 64))
            bytes.removeSubrange(at..<(at + n))
            what = "\(n) byte(s) cut out at \(at)"
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return what
    }
}

/// Stops the process, naming the iteration, when one iteration takes longer than `limit`
/// seconds: a hang must not pass as a slow test.
final class Watchdog: @unchecked Sendable {
    private let limit: Double
    private let queue = DispatchQueue(label: "mutation-watchdog")
    /// Guarded by `queue`.
    private var generation = 0

    init(limit: Double) { self.limit = limit }

    func arm(_ context: String) {
        let armed = queue.sync { () -> Int in generation += 1; return generation }
        queue.asyncAfter(deadline: .now() + limit) { [self] in
            if generation == armed { fatalError("MutationTests: no answer after \(limit) s: \(context)") }
        }
    }

    func disarm() { queue.sync { generation += 1 } }
}
