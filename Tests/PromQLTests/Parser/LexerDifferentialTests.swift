import Testing
import TSDBTestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import PromQL

/// Checks the lexer against promtool 2.42's recorded verdicts (Fixtures/promtool-verdicts.tsv,
/// made by Fixtures/record-verdicts.py): a query promtool accepts must lex without error, and
/// a lexer error must be exactly the error promtool printed. Until the parser lands, errors
/// that come from the grammar or the type checker are not compared.
@Suite(.heavy) struct LexerDifferentialTests {
    static func verdicts() throws -> [(query: String, verdict: String)] {
        let path = String(#filePath.dropLast("LexerDifferentialTests.swift".count)) + "Fixtures/promtool-verdicts.tsv"
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        while true {
            let c = fgetc(file)
            if c == EOF { break }
            bytes.append(UInt8(c))
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }
    }

    @Test func agreesWithPromtool() throws {
        let all = try Self.verdicts()
        #expect(all.count >= 150)
        for (query, verdict) in all {
            var lexer = Lexer(Array(query.utf8))
            do {
                while true {
                    if lexer.pendingDuration != nil { lexer.pendingDuration = nil; continue }
                    if try lexer.nextToken().kind == .eof { break }
                }
                if verdict == "OK" { continue }
            } catch {
                #expect(error.description == verdict, "query: \(query)")
            }
        }
    }
}
