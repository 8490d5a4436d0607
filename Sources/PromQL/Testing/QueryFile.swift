import TSDB

/// One query of a query file, its times resolved: the differential corpus
/// (Tests/PromQLTests/Differential/Fixtures/corpus.txt, whose header gives the format) and
/// the speed comparison's set (scripts/promql-bench-queries.txt) share it.
package struct PromQLQueryLine: Sendable, CustomStringConvertible {
    package enum Kind: Sendable { case instant(Int64), range(start: Int64, end: Int64, step: Int64) }
    package var kind: Kind
    /// The expression with `{{time}}` expanded.
    package var expr: String
    /// The line as written, for messages.
    package var source: String
    package var line: Int

    package var description: String { "line \(line): \(source)" }

    /// Whether the result's order is part of the answer (`sort`, `sort_desc` outermost).
    package var isOrdered: Bool {
        let e = expr.drop { $0 == " " }
        return e.hasPrefix("sort(") || e.hasPrefix("sort_desc(")
    }

    package enum ParseFailure: Error, CustomStringConvertible {
        case line(Int, String)
        package var description: String {
            switch self { case .line(let n, let text): "corpus line \(n) is not understood: \(text)" }
        }
    }

    package static func parseFile(_ text: String, start: Int64, end: Int64) throws(ParseFailure) -> [PromQLQueryLine] {
        var out: [PromQLQueryLine] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw.drop { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let q = parse(line, start: start, end: end, number: n + 1) else { throw .line(n + 1, line) }
            out.append(q)
        }
        return out
    }

    package static func parse(_ line: String, start: Int64, end: Int64, number: Int) -> PromQLQueryLine? {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let kind = line[..<space]
        let rest = line[line.index(after: space)...]
        switch kind {
        case "instant":
            let f = rest.split(separator: " ", maxSplits: 1).map(String.init)
            guard f.count == 2, let t = resolve(f[0], start: start, end: end),
                  let expr = expand(f[1], start: start, end: end) else { return nil }
            return PromQLQueryLine(kind: .instant(t), expr: expr, source: line, line: number)
        case "range":
            let f = rest.split(separator: " ", maxSplits: 3).map(String.init)
            guard f.count == 4, let s = resolve(f[0], start: start, end: end), let e = resolve(f[1], start: start, end: end),
                  let step = try? PromQLDuration.parse(f[2]),
                  let expr = expand(f[3], start: start, end: end) else { return nil }
            return PromQLQueryLine(kind: .range(start: s, end: e, step: step), expr: expr, source: line, line: number)
        default:
            return nil
        }
    }

    /// `S`, `E`, `S±<duration>`, `E±<duration>` in milliseconds.
    package static func resolve(_ s: String, start: Int64, end: Int64) -> Int64? {
        guard let head = s.first, head == "S" || head == "E" else { return nil }
        let base = head == "S" ? start : end
        let rest = s.dropFirst()
        if rest.isEmpty { return base }
        guard let sign = rest.first, sign == "+" || sign == "-",
              let d = try? PromQLDuration.parse(String(rest.dropFirst())) else { return nil }
        return sign == "+" ? base + d : base - d
    }

    /// Replaces each `{{time}}` by that time in Unix seconds.
    package static func expand(_ expr: String, start: Int64, end: Int64) -> String? {
        // Byte-wise, without Foundation: `{{` and `}}` are ASCII.
        let bytes = Array(expr.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if i + 1 < bytes.count, bytes[i] == 0x7b, bytes[i + 1] == 0x7b {
                var j = i + 2
                while j + 1 < bytes.count, !(bytes[j] == 0x7d && bytes[j + 1] == 0x7d) { j += 1 }
                guard j + 1 < bytes.count,
                      let ms = resolve(String(decoding: bytes[(i + 2)..<j], as: UTF8.self), start: start, end: end) else { return nil }
                out.append(contentsOf: seconds(ms).utf8)
                i = j + 2
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Milliseconds as Unix seconds, exactly (`1700000000`, `1700000000.5`, `-0.25`).
    package static func seconds(_ ms: Int64) -> String {
        let sign = ms < 0 ? "-" : ""
        let a = ms.magnitude
        let whole = a / 1000
        let frac = a % 1000
        guard frac != 0 else { return "\(sign)\(whole)" }
        var f = String(frac)
        while f.count < 3 { f = "0" + f }
        while f.hasSuffix("0") { f.removeLast() }
        return "\(sign)\(whole).\(f)"
    }

    /// Runs the query on `engine` over `storage`.
    package func run(_ engine: PromQLEngine, _ storage: some PromQLQueryable) throws(PromQLError) -> PromQLResult {
        switch kind {
        case .instant(let t): try engine.instantQuery(storage, expr, at: t)
        case .range(let s, let e, let step): try engine.rangeQuery(storage, expr, start: s, end: e, step: step)
        }
    }
}
