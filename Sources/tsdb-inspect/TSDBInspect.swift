import ArgumentParser
@_spi(Chunks) import TSDB

import Foundation

/// Looks inside a data directory, whether this engine or Prometheus wrote it: lists, dumps,
/// analyzes and verifies blocks and the WAL, and imports OpenMetrics text into blocks.
/// Reading commands open the directory read-only and never change it.
@main
struct TSDBInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsdb-inspect",
        abstract: "Inspect and import TSDB data directories (Prometheus-compatible).",
        discussion: """
            Example:
              tsdb-inspect list data/
              tsdb-inspect dump data/ --match 'up{job="api"}' | diff - <(promtool tsdb dump data/ --match 'up{job="api"}')
            """,
        subcommands: [List.self, Dump.self, Analyze.self, Verify.self, Import.self, DumpWAL.self,
                      DecodeChunk.self, ParseSelector.self, PromQLTest.self, Query.self])
}

struct DecodeChunk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode-chunk",
        abstract: "Decode one XOR chunk (Prometheus chunk encoding 1) given as hex.",
        discussion: """
            Prints one line per sample: timestamp (ms), value, and the value's IEEE 754 bits,
            so NaN payloads such as the staleness marker 0x7ff0000000000002 are visible.

            Example:
              tsdb-inspect decode-chunk 000102f0...
            """)

    @Argument(help: "The chunk's bytes in hex, without the encoding byte (spaces allowed).")
    var hex: String

    func run() throws {
        let bytes = try parseHex(hex)
        let chunk = XORChunk(bytes: bytes)
        print("encoding: XOR, \(bytes.count) bytes, \(chunk.count.map(String.init) ?? "no") samples in header")
        var it = chunk.makeIterator()
        while let s = it.next() {
            let bits = "0x" + String(s.value.bitPattern, radix: 16).leftPadded(to: 16)
            print("\(s.timestamp)\t\(s.value)\t\(bits)")
        }
        if let error = it.error {
            printError("tsdb-inspect: \(error)")
            throw ExitCode.failure
        }
    }

    func parseHex(_ text: String) throws -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace }.utf8)
        guard digits.count % 2 == 0 else { throw ValidationError("hex has an odd number of digits (\(digits.count))") }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else {
                throw ValidationError("not a hex digit at position \(i + 1)")
            }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

struct ParseSelector: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse-selector",
        abstract: "Parse a series selector and print its matchers, one per line.",
        discussion: """
            Example:
              tsdb-inspect parse-selector 'http_requests_total{job="api", code=~"5.."}'
            """)

    @Argument(help: "A PromQL series selector.")
    var selector: String

    func run() throws {
        do {
            for m in try Selector.parse(selector) { print(m) }
        } catch {
            printError("tsdb-inspect: \(error.message)")
            if let column = error.location?.offset {
                printError("  \(selector)\n  \(String(repeating: " ", count: max(0, column - 1)))^")
            }
            throw ExitCode.failure
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
