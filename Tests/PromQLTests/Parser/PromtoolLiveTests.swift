import Testing
import TSDBTestSupport
@testable import PromQL
#if canImport(Glibc)
import Glibc
#endif

/// Runs promtool itself (when installed) over Fixtures/queries.txt and checks that the parser
/// accepts exactly what it accepts, with the same error text (regex wording aside).
@Suite(.heavy) struct PromtoolLiveTests {
    static let promtool = "/usr/bin/promtool"

    static func readFile(_ path: String) -> String {
        guard let f = fopen(path, "r") else { return "" }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        while true { let c = fgetc(f); if c == EOF { break }; bytes.append(UInt8(c)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A YAML double-quoted scalar (JSON escaping is valid YAML).
    static func yamlQuote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    @Test(.enabled(if: access(promtool, X_OK) == 0)) func agreesWithLivePromtool() throws {
        let dir = String(#filePath.dropLast("PromtoolLiveTests.swift".count)) + "Fixtures/"
        let queries = Self.readFile(dir + "queries.txt").split(separator: "\n").map(String.init)
        var rules = "groups:\n- name: g\n  rules:\n"
        for (i, q) in queries.enumerated() { rules += "  - record: q\(i)\n    expr: \(Self.yamlQuote(q))\n" }
        let base = "/tmp/promql-live-\(getpid())"
        guard let f = fopen(base + ".yml", "w") else { return }
        fputs(rules, f)
        fclose(f)
        _ = system("\(Self.promtool) check rules \(base).yml > \(base).out 2>&1")
        var errors: [Int: String] = [:]
        for line in Self.readFile(base + ".out").split(separator: "\n") {
            guard let r = line.firstRange(of: ", rule "), let c = line.firstRange(of: "could not parse expression: ") else { continue }
            let number = line[r.upperBound...].prefix(while: \.isNumber)
            if let n = Int(number) { errors[n - 1] = String(line[c.upperBound...]) }
        }
        #expect(errors.count > 100, "promtool output not understood")
        unlink(base + ".yml")
        unlink(base + ".out")
        for (i, q) in queries.enumerated() {
            let verdict = errors[i] ?? "OK"
            let ours: String
            do { _ = try PromQLParser.parse(q); ours = "OK" } catch { ours = error.description }
            if !verdict.contains("error parsing regexp") { #expect(ours == verdict, "query: \(q)") }
        }
    }
}
