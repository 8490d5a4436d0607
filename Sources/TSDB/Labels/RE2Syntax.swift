/// Checks that a pattern is valid RE2 (Go `regexp`) syntax as far as PCRE2 would read it
/// differently, and rewrites the few escapes whose meaning differs.
///
/// PCRE2 accepts more than RE2: lookaround, backreferences, possessive quantifiers, atomic
/// groups, recursion, verbs and several escapes. Prometheus rejects those, so we do too,
/// before PCRE2 sees the pattern. `\s` and `\v` mean less in Go than in PCRE2 and are
/// rewritten. Measured reasons for PCRE2 itself are in the README.
enum RE2Syntax {
    /// Escapes Go accepts that are letters; any other letter escape is an error in Go.
    private static let letterEscapes: Set<Character> = ["a", "f", "t", "n", "r", "v", "x", "d", "D", "s", "S",
                                                        "w", "W", "b", "B", "A", "z", "p", "P", "Q", "E"]

    /// Returns the pattern to hand to PCRE2, or throws naming the offending offset.
    static func translate(_ pattern: String) throws(TSDBError) -> String {
        let chars = Array(pattern)
        var out = ""
        var i = 0
        var inClass = false
        var classStart = 0
        func reject(_ what: String, _ at: Int) -> TSDBError {
            TSDBError(.invalidMatcher, "error parsing regexp \(goQuoteForError(pattern)): \(what) at offset \(at) (not RE2 syntax)")
        }
        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                guard i + 1 < chars.count else { throw reject("trailing backslash", i) }
                let e = chars[i + 1]
                if e == "Q" {
                    // Literal text up to \E (or the end).
                    var j = i + 2
                    while j < chars.count && !(chars[j] == "\\" && j + 1 < chars.count && chars[j + 1] == "E") { j += 1 }
                    out += String(chars[i..<min(j + 2, chars.count)])
                    i = j + 2
                    continue
                }
                if e.isLetter && e.isASCII {
                    guard letterEscapes.contains(e) else { throw reject("invalid escape sequence \\\(e)", i) }
                    switch e {
                    case "s": out += inClass ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]"
                    case "S" where !inClass: out += "[^\\t\\n\\f\\r ]"
                    case "v": out += "\\x0B"
                    default: out += "\\\(e)"
                    }
                    i += 2
                    continue
                }
                if let d = e.wholeNumberValue, d >= 1, e.isASCII {
                    throw reject("backreference \\\(e)", i)
                }
                out += "\\\(e)"
                i += 2
                continue
            }
            if inClass {
                if c == "]" && i > classStart { inClass = false }
                if c == "[" && i + 1 < chars.count && chars[i + 1] == ":" {
                    // A POSIX class like [:alpha:] inside a bracket expression.
                    if let end = (i + 2..<chars.count).first(where: { chars[$0] == "]" }) {
                        out += String(chars[i...end])
                        i = end + 1
                        continue
                    }
                }
                out.append(c)
                i += 1
                continue
            }
            switch c {
            case "[":
                inClass = true
                out.append(c)
                i += 1
                // A ']' right after '[' or '[^' is a literal member.
                if i < chars.count && chars[i] == "^" { out.append("^"); i += 1 }
                classStart = i
                if i < chars.count && chars[i] == "]" { out.append("]"); i += 1 }
                continue
            case "(":
                if i + 1 < chars.count && chars[i + 1] == "*" { throw reject("backtracking verb (*", i) }
                if i + 1 < chars.count && chars[i + 1] == "?" {
                    let rest = String(chars[(i + 2)...].prefix(3))
                    let allowed = rest.hasPrefix("P<") || (rest.hasPrefix("<") && !rest.hasPrefix("<=") && !rest.hasPrefix("<!"))
                        || rest.first.map { ":imsU-".contains($0) } == true
                    guard allowed else { throw reject("unsupported group syntax (?\(rest.prefix(2))", i) }
                    if let f = rest.first, "imsU-".contains(f) {
                        // Flags: only i, m, s, U and '-' before ':' or ')'.
                        var j = i + 2
                        while j < chars.count && chars[j] != ")" && chars[j] != ":" {
                            guard "imsU-".contains(chars[j]) else { throw reject("invalid flag \(chars[j])", j) }
                            j += 1
                        }
                    }
                }
            case "{":
                // Repeat counts: Go allows at most 1000.
                var j = i + 1
                var numbers: [Int] = []
                var current = ""
                while j < chars.count, chars[j].isASCII, chars[j].isNumber || chars[j] == "," {
                    if chars[j] == "," { numbers.append(Int(current) ?? -1); current = "" } else { current.append(chars[j]) }
                    j += 1
                }
                if j < chars.count && chars[j] == "}" && !numbers.isEmpty || (j < chars.count && chars[j] == "}" && !current.isEmpty) {
                    numbers.append(Int(current) ?? -1)
                    if numbers.contains(where: { $0 > 1000 }) { throw reject("repeat count above 1000", i) }
                    if j + 1 < chars.count && chars[j + 1] == "+" { throw reject("possessive quantifier", j + 1) }
                }
            case "*", "+", "?":
                if i + 1 < chars.count && chars[i + 1] == "+" { throw reject("possessive quantifier", i + 1) }
            default:
                break
            }
            out.append(c)
            i += 1
        }
        return out
    }
}
