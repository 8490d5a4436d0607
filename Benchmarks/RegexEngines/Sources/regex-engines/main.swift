// Regex-engine benchmark for Prometheus label matchers (`=~`, `!~`).
//
//   cd Benchmarks/RegexEngines && swift run -c release regex-engines
//
// Prometheus semantics: pattern is RE2 (Go regexp/syntax), compiled as `^(?s:PATTERN)$`,
// i.e. fully anchored and `.` matches `\n`; values are matched per code point (UTF-8).
// Engines: PCRE2 (8-bit, JIT), Foundation NSRegularExpression (ICU, UTF-16) and Swift Regex.
// Prints: ns/match + compile time per (engine, pattern), match counts, and semantic probes
// comparing every engine against the expected Go/RE2 result.
import CPCRE2
import Foundation

// MARK: - Engines

/// One engine: turns a Prometheus pattern into a predicate over a workload index
/// (nil = runtime error, e.g. PCRE2 hitting its JIT stack limit).
struct Engine {
    let name: String
    let compile: (String) throws -> (Int) -> Bool?
}

struct CompileError: Error, CustomStringConvertible { let description: String }

/// PCRE2 code + one reused match_data. Anchoring via options (both are JIT-compatible at
/// compile time; only *match-time* ANCHORED/ENDANCHORED are ignored by pcre2_jit_match).
/// NEVER_BACKSLASH_C / NEVER_UCP reject `\C` and `(*UCP)` (not RE2); NO_AUTO_CAPTURE makes `(a)\1`
/// a compile error (named-group backrefs still compile -> needs a syntax pre-check).
final class PCRE2Regex {
    static let options = PCRE2_UTF | PCRE2_DOTALL | PCRE2_ANCHORED | PCRE2_ENDANCHORED
        | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C | PCRE2_NEVER_UCP | PCRE2_NO_AUTO_CAPTURE
    nonisolated(unsafe) private static let empty = UnsafePointer(UnsafeMutablePointer<UInt8>.allocate(capacity: 1))
    let code: OpaquePointer
    let matchData: OpaquePointer
    let jitSize: Int

    init(_ pattern: String) throws {
        var err: Int32 = 0, offset = 0
        let code = pattern.utf8.withContiguousStorageIfAvailable {
            pcre2_compile_8($0.baseAddress ?? PCRE2Regex.empty, $0.count, Self.options, &err, &offset, nil)
        } ?? nil
        guard let code else {
            var buf = [UInt8](repeating: 0, count: 256)
            _ = pcre2_get_error_message_8(err, &buf, buf.count)
            throw CompileError(description: "PCRE2 @\(offset): " + String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self))
        }
        let jitRC = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE)
        var size = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_JITSIZE), &size)
        guard jitRC == 0, size > 0 else {
            pcre2_code_free_8(code)
            throw CompileError(description: "PCRE2 JIT compile failed rc=\(jitRC)")
        }
        self.code = code
        self.jitSize = size
        self.matchData = pcre2_match_data_create_8(1, nil)  // captures are never needed
    }
    deinit { pcre2_match_data_free_8(matchData); pcre2_code_free_8(code) }

    /// Zero-copy: native Swift strings are contiguous UTF-8 (and always valid UTF-8).
    func matches(_ s: String) -> Bool? {
        let rc = s.utf8.withContiguousStorageIfAvailable {
            pcre2_jit_match_8(code, $0.baseAddress ?? PCRE2Regex.empty, $0.count, 0, 0, matchData, nil)
        } ?? Array(s.utf8).withUnsafeBufferPointer {
            pcre2_jit_match_8(code, $0.baseAddress ?? PCRE2Regex.empty, $0.count, 0, 0, matchData, nil)
        }
        guard rc >= 0 || rc == PCRE2_ERROR_NOMATCH else { return nil }  // e.g. -46 JIT stack limit
        return rc >= 0  // rc == 0 means "matched, ovector too small" which is fine
    }
}

func nsRegex(_ p: String) throws -> NSRegularExpression {
    // `\A...\z`, not `^...$`: ICU's `$` also matches before a final line terminator, so
    // `^(?:a|a\n)$` would find the shorter `a` in "a\n"; the range check would then reject
    // a value RE2 accepts. The whole-range check is kept as belt and braces.
    try NSRegularExpression(pattern: "\\A(?:\(p))\\z", options: [.dotMatchesLineSeparators])
}

func engines(values: [String]) -> [Engine] {
    // Note: on Linux NSRegularExpression only takes `String`; it bridges to NSString/CFString and
    // ICU then needs UTF-16, so pre-converting values to NSString cannot avoid that (measured: the
    // NSString -> String -> NSString round trip was ~8% slower than passing the String).
    [
        Engine(name: "PCRE2-JIT") { p in
            let re = try PCRE2Regex(p)
            return { re.matches(values[$0]) }
        },
        Engine(name: "NSRegex") { p in
            let re = try nsRegex(p)
            return { i in
                let s = values[i], len = s.utf16.count  // String -> UTF-16 view, bridged per call
                return re.firstMatch(in: s, options: [], range: NSRange(location: 0, length: len))?.range.length == len
            }
        },
        Engine(name: "SwiftRegex") { p in  // as briefed: default (grapheme-cluster) semantics
            let re = try Regex("(?s:\(p))")
            return { (try? re.wholeMatch(in: values[$0])) != nil }
        },
        Engine(name: "SwiftRegex(scalar,ascii)") { p in  // closest to RE2: per code point, ASCII \d\w\s
            let re = try Regex("(?s:\(p))").matchingSemantics(.unicodeScalar).asciiOnlyCharacterClasses()
            return { (try? re.wholeMatch(in: values[$0])) != nil }
        },
    ]
}

// MARK: - Workload (deterministic, modelled on /work/shared/bench/series-20k.jsonl)

struct LCG {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
    mutating func pick<T>(_ a: [T]) -> T { a[next(a.count)] }
}

func makeWorkload(count: Int) -> [String] {
    var r = LCG()
    let ns = ["node", "go", "process", "prometheus", "http", "grpc", "container", "kube"]
    let subs = ["cpu", "disk", "memory", "filesystem", "network", "netstat", "gc", "tsdb", "server", "pod"]
    let names = ["seconds", "read_bytes", "written_bytes", "io_time_seconds", "avail_bytes", "MemFree_bytes",
                 "receive_drop", "transmit_errs", "requests", "handled", "guest_seconds", "duration_seconds"]
    let suffixes = ["_total", "_total", "", "_count", "_sum", "_bucket", "_info"]
    let other: [[String]] = [
        ["0", "0.25", "0.5", "0.75", "0.9", "0.99", "1"],                                      // quantile
        ["sda", "sda1", "nvme0n1", "nvme0n1p1", "vda", "/dev/vda1", "dm-0", "zram0", "eth0", "lo", "ifb0"],
        ["/", "/boot", "/boot/efi", "/var/lib/docker", "/run/user/1000", "/home", "/mnt/disk_7", "/srv/diskcache"],
        ["200", "201", "204", "301", "304", "400", "404", "429", "500", "502", "503", "504"],  // code
        ["GET", "get", "POST", "post", "Post", "PUT", "DELETE", "HEAD", "OPTIONS"],           // method
        ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "sa-east-1"],     // region
        ["cpu_0", "cpu_12", "queue_3", "tx_0", "rx_15", "user", "system", "iowait", "idle", "softirq"],
        ["go1.19.8", "1.5.0-1+b6", "Debian GNU/Linux 12 (bookworm)", "debian/sid", "kvm-clock", "(none)"],
        // Edge cases: newline (DOTALL), CRLF / combining mark (grapheme vs code point), non-ASCII.
        ["multi\nline_total", "5\r\n", "5e\u{301}", "café_1", "Grüße_total", "x\ndisk", "node_cpu\n", ""],
    ]
    return (0..<count).map { _ in
        switch r.next(10) {
        case 0..<4: return "\(r.pick(ns))_\(r.pick(subs))_\(r.pick(names))\(r.pick(suffixes))"
        case 4..<6: return String(format: "node-%05d", r.next(2000))
        default: return r.pick(r.next(50) == 0 ? other[8] : other[r.next(8)])
        }
    }
}

// MARK: - Measurement helpers

func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }

// MARK: - Benchmark

let values = makeWorkload(count: 20_000)
let patterns = ["node_cpu.*", ".*_total", "node-000[0-4].*", "5..", "(?i)GET|post",
                "eu-.*|us-.*", ".*disk.*", "[a-z]+_[0-9]+"]
let runs = 5, compileReps = 20
let allEngines = engines(values: values)
var counts: [String: [String: Int]] = [:]  // pattern -> engine -> matches
var rows: [(engine: String, pattern: String, ns: Double, spread: Double, compileUs: Double)] = []

print("workload: \(values.count) values, \(Set(values).count) distinct; runs=\(runs)")
print("PCRE2 options (all JIT-compiled, JIT size > 0 checked): UTF|DOTALL|ANCHORED|ENDANCHORED|"
      + "DOLLAR_ENDONLY|NEVER_BACKSLASH_C|NEVER_UCP|NO_AUTO_CAPTURE = 0x"
      + String(PCRE2Regex.options, radix: 16))

for engine in allEngines {
    for p in patterns {
        // Compile time incl. one match: Swift Regex builds its program lazily on first use.
        var compileTimes: [Double] = []
        for _ in 0..<compileReps {
            let t0 = nowNs()
            let m = try engine.compile(p)
            _ = m(0)
            compileTimes.append(Double(nowNs() - t0) / 1000)
        }
        let match = try engine.compile(p)
        var n = 0
        for i in values.indices where match(i) == true { n += 1 }  // warm-up + match count
        counts[p, default: [:]][engine.name] = n
        var perMatch: [Double] = []
        for _ in 0..<runs {
            var hits = 0
            let t0 = nowNs()
            for i in values.indices where match(i) == true { hits += 1 }
            let dt = nowNs() - t0
            precondition(hits == n)
            perMatch.append(Double(dt) / Double(values.count))
        }
        let med = median(perMatch)
        rows.append((engine.name, p, med, (perMatch.max()! - perMatch.min()!) / med * 100, median(compileTimes)))
    }
}

print("\n| engine | pattern | ns/match (median of \(runs)) | spread | compile µs (median of \(compileReps)) |")
print("|---|---|---:|---:|---:|")
for r in rows {
    print("| \(r.engine) | `\(r.pattern)` | \(fmt(r.ns)) | ±\(fmt(r.spread / 2, 0))% | \(fmt(r.compileUs)) |")
}

print("\n| engine | geomean ns/match | geomean compile µs |")
print("|---|---:|---:|")
for e in allEngines {
    let mine = rows.filter { $0.engine == e.name }
    let geo = { (xs: [Double]) in exp(xs.map(log).reduce(0, +) / Double(xs.count)) }
    print("| \(e.name) | \(fmt(geo(mine.map(\.ns)))) | \(fmt(geo(mine.map(\.compileUs)))) |")
}

// Lower bound for the UTF-16 conversion that NSRegularExpression/ICU needs on every call.
var sink = 0
var utf16Times: [Double] = []
for _ in 0..<runs {
    let t0 = nowNs()
    for v in values { sink &+= Array(v.utf16).count }
    utf16Times.append(Double(nowNs() - t0) / Double(values.count))
}
print("\nUTF-16 transcode alone (Array(s.utf16)): \(fmt(median(utf16Times))) ns/value (sink \(sink % 10))")

print("\n## Match counts (reference: PCRE2-JIT)\n")
print("| pattern | " + allEngines.map(\.name).joined(separator: " | ") + " |")
print("|---|" + allEngines.map { _ in "---:|" }.joined())
for p in patterns {
    let ref = counts[p]!["PCRE2-JIT"]!
    let cells = allEngines.map { e -> String in
        let c = counts[p]![e.name]!
        return c == ref ? "\(c)" : "**\(c)** (MISMATCH)"
    }
    print("| `\(p)` | " + cells.joined(separator: " | ") + " |")
}

// MARK: - Semantic probes vs Go regexp (expected results from Go's regexp/syntax docs;
// `nil` = Go rejects the pattern at compile time). Cells: match / no / ERR, ✗ = differs from Go.

let probes: [(pattern: String, value: String, go: Bool?)] = [
    (".+", "a\nb", true), ("..", "\r\n", true), ("5..", "5e\u{301}", true), ("é", "e\u{301}", false),
    ("a$\\n", "a\n", false), ("a|a\\n", "a\n", true), ("\\d", "\u{663}", false), ("\\w+", "café", false),
    ("[[:alpha:]]", "é", false), ("\\pL+", "Grüße", true), ("\\p{L}+", "Grüße", true),
    ("\\s", "\u{0B}", false), ("\\v", "\n", false),
    ("[^a]", "\n", true), ("(?i)k", "\u{212A}", true), ("(?i)straße", "STRASSE", false),
    ("(?U)a+", "aaa", true), ("\\Qa.b\\E", "a.b", true), ("(?P<n>a)", "a", true), ("\\x{41}", "A", true),
    ("a\\z", "a", true), ("a{,3}", "a{,3}", true),
    ("(a)\\1", "aa", nil), ("(?<n>a)\\k<n>", "aa", nil), ("(*UCP)\\d", "1", nil),
    ("a(?=b)b", "ab", nil), ("(?<=a)b", "ab", nil), ("a(?!c)b", "ab", nil),
    ("a++", "aa", nil), ("(?>a)", "a", nil), ("\\C", "a", nil), ("a\\Z", "a", nil), ("a{1001}", "a", nil),
    ("(?|a)", "a", nil), ("\\Ka", "a", nil), ("\\R", "\n", nil), ("\\h", " ", nil), ("\\X", "a", nil),
    ("(*UTF)a", "a", nil), ("(?x) a", "a", nil), ("(?#c)a", "a", nil), ("(?R)?a", "a", nil),
]
print("\n## Semantic probes vs Go/RE2 (✗ = differs from Go)\n")
print("| pattern | value | Go | " + allEngines.map(\.name).joined(separator: " | ") + " |")
print("|---|---|---|" + allEngines.map { _ in "---|" }.joined())
let show = { (s: String) in s.unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined() }
let label = { (b: Bool?) in b.map { $0 ? "match" : "no" } ?? "ERR" }
// Cell: compile error -> ERR; runtime error -> "RUNTIME-ERR".
for probe in probes {
    let cells = engines(values: [probe.value]).map { e -> String in
        guard let m = try? e.compile(probe.pattern) else { return "ERR" + (probe.go == nil ? "" : " ✗") }
        guard let r = m(0) else { return "RUNTIME-ERR ✗" }
        return label(r) + (r == probe.go ? "" : " ✗")
    }
    print("| `\(show(probe.pattern))` | `\(show(probe.value))` | \(label(probe.go)) | " + cells.joined(separator: " | ") + " |")
}
