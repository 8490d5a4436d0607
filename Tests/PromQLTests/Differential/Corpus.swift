import PromQL

/// One query of Fixtures/corpus.txt, its times resolved (format in the file's header).
struct CorpusQuery: Sendable, CustomStringConvertible {
    enum Kind: Sendable { case instant(Int64), range(start: Int64, end: Int64, step: Int64) }
    var kind: Kind
    /// The expression with `{{time}}` expanded.
    var expr: String
    /// The line as written, for messages.
    var source: String
    var line: Int

    var description: String { "line \(line): \(source)" }

    /// Whether the result's order is part of the answer (`sort`, `sort_desc` outermost).
    var isOrdered: Bool {
        let e = expr.drop { $0 == " " }
        return e.hasPrefix("sort(") || e.hasPrefix("sort_desc(")
    }

    enum ParseFailure: Error, CustomStringConvertible {
        case line(Int, String)
        var description: String {
            switch self { case .line(let n, let text): "corpus line \(n) is not understood: \(text)" }
        }
    }

    static func parseFile(_ text: String, start: Int64, end: Int64) throws(ParseFailure) -> [CorpusQuery] {
        var out: [CorpusQuery] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw.drop { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let q = parse(line, start: start, end: end, number: n + 1) else { throw .line(n + 1, line) }
            out.append(q)
        }
        return out
    }

    static func parse(_ line: String, start: Int64, end: Int64, number: Int) -> CorpusQuery? {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let kind = line[..<space]
        let rest = line[line.index(after: space)...]
        switch kind {
        case "instant":
            let f = rest.split(separator: " ", maxSplits: 1).map(String.init)
            guard f.count == 2, let t = resolve(f[0], start: start, end: end),
                  let expr = expand(f[1], start: start, end: end) else { return nil }
            return CorpusQuery(kind: .instant(t), expr: expr, source: line, line: number)
        case "range":
            let f = rest.split(separator: " ", maxSplits: 3).map(String.init)
            guard f.count == 4, let s = resolve(f[0], start: start, end: end), let e = resolve(f[1], start: start, end: end),
                  let step = try? PromQLDuration.parse(f[2]),
                  let expr = expand(f[3], start: start, end: end) else { return nil }
            return CorpusQuery(kind: .range(start: s, end: e, step: step), expr: expr, source: line, line: number)
        default:
            return nil
        }
    }

    /// `S`, `E`, `S±<duration>`, `E±<duration>` in milliseconds.
    static func resolve(_ s: String, start: Int64, end: Int64) -> Int64? {
        guard let head = s.first, head == "S" || head == "E" else { return nil }
        let base = head == "S" ? start : end
        let rest = s.dropFirst()
        if rest.isEmpty { return base }
        guard let sign = rest.first, sign == "+" || sign == "-",
              let d = try? PromQLDuration.parse(String(rest.dropFirst())) else { return nil }
        return sign == "+" ? base + d : base - d
    }

    /// Replaces each `{{time}}` by that time in Unix seconds.
    static func expand(_ expr: String, start: Int64, end: Int64) -> String? {
        var out = ""
        var rest = Substring(expr)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}"),
                  let ms = resolve(String(rest[open.upperBound..<close.lowerBound]), start: start, end: end) else { return nil }
            out += rest[..<open.lowerBound]
            out += seconds(ms)
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    /// Milliseconds as Unix seconds, exactly (`1700000000`, `1700000000.5`, `-0.25`).
    static func seconds(_ ms: Int64) -> String {
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
}
