import ArgumentParser
import TSDB

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Prints a message to standard error.
func printError(_ message: String) {
    var line = message
    if !line.hasSuffix("\n") { line += "\n" }
    FileHandle.standardError.write(Data(line.utf8))
}

/// Runs a command body, turning a ``TSDBError`` into a message on stderr and exit status 1.
func reportingErrors<T>(_ body: () throws(TSDBError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        printError("tsdb-inspect: \(error.message)" + (error.location.map { " (\($0))" } ?? ""))
        throw ExitCode.failure
    }
}

/// Standard output through a large buffer: one write(2) per MiB.
struct OutputBuffer {
    var bytes: [UInt8] = []
    let limit = 1 << 20

    init() { bytes.reserveCapacity(limit + 4096) }

    mutating func write(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        if bytes.count >= limit { flush() }
    }

    mutating func write(_ b: [UInt8]) {
        bytes.append(contentsOf: b)
        if bytes.count >= limit { flush() }
    }

    /// Call after appending to `bytes` directly.
    mutating func flushIfFull() {
        if bytes.count >= limit { flush() }
    }

    mutating func flush() {
        bytes.withUnsafeBytes { raw in
            var at = 0
            while at < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + at, raw.count - at)
                if n < 0 {
                    if errno == EINTR { continue }
                    // A closed pipe (`| head`) ends the output quietly.
                    exit(errno == EPIPE ? 0 : 1)
                }
                at += n
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// A one-line progress bar on stderr, shown only when stderr is a terminal, redrawn at
/// most ten times a second.
struct ProgressBar {
    let label: String
    let total: Int
    let enabled: Bool
    private var lastDraw = 0.0

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
        enabled = isatty(2) == 1
    }

    mutating func update(_ done: Int) {
        guard enabled else { return }
        let now = Date().timeIntervalSince1970
        guard now - lastDraw >= 0.1 || done >= total else { return }
        lastDraw = now
        let fraction = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(Int(fraction * 100))%".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Parses durations such as `2h`, `90m`, `1h30m`, `3600s`, `1d`, into milliseconds.
func parseDuration(_ text: String) -> Int64? {
    let units: [Character: Int64] = ["s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]
    var total: Int64 = 0
    var number: Int64?
    var chars = Array(text)
    if text.hasSuffix("ms"), let n = Int64(text.dropLast(2)) { return n }
    guard !chars.isEmpty else { return nil }
    while !chars.isEmpty {
        let c = chars.removeFirst()
        if let d = c.wholeNumberValue {
            number = (number ?? 0) * 10 + Int64(d)
        } else if let unit = units[c], let n = number {
            total += n * unit
            number = nil
        } else {
            return nil
        }
    }
    return number == nil ? total : nil
}
