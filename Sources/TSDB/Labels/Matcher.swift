#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A condition on one label, with Prometheus semantics: `=`, `!=`, `=~`, `!~`.
///
/// A series without the label behaves as if it had the empty value, so `{a=""}` selects
/// series that lack `a`. Regexes are RE2 syntax and fully anchored. Literals, prefixes
/// (`foo.*`), suffixes, substrings and alternations of literals (`a|b|c`) skip the regex
/// engine; the rest runs on PCRE2 with its JIT.
public struct Matcher: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regexMatch = "=~"
        case regexNoMatch = "!~"

        var isNegative: Bool { self == .notEqual || self == .regexNoMatch }
    }

    public let kind: Kind
    public let name: String
    public let value: String
    let test: ValueTest

    /// - Throws: ``TSDBError/Code/invalidMatcher`` when a regex does not compile or is not RE2 syntax.
    public init(_ kind: Kind, _ name: String, _ value: String) throws(TSDBError) {
        self.kind = kind
        self.name = name
        self.value = value
        switch kind {
        case .equal, .notEqual: test = .literal(value)
        case .regexMatch, .regexNoMatch: test = try ValueTest(regex: value)
        }
    }

    /// `name="value"`; cannot fail.
    public static func equal(_ name: String, _ value: String) -> Matcher {
        Matcher(kind: .equal, name: name, value: value, test: .literal(value))
    }

    /// `name!="value"`; cannot fail.
    public static func notEqual(_ name: String, _ value: String) -> Matcher {
        Matcher(kind: .notEqual, name: name, value: value, test: .literal(value))
    }

    private init(kind: Kind, name: String, value: String, test: ValueTest) {
        self.kind = kind
        self.name = name
        self.value = value
        self.test = test
    }

    /// Whether a label value satisfies the matcher; pass "" for a series that lacks the label.
    public func matches(_ value: String) -> Bool {
        test.matches(value) != kind.isNegative
    }

    /// The matcher that selects exactly what this one rejects (`=` ↔ `!=`, `=~` ↔ `!~`).
    public var inverse: Matcher {
        let k: Kind = switch kind {
        case .equal: .notEqual
        case .notEqual: .equal
        case .regexMatch: .regexNoMatch
        case .regexNoMatch: .regexMatch
        }
        return Matcher(kind: k, name: name, value: value, test: test)
    }

    /// For a positive matcher, the exact set of values it matches if that set is known
    /// without scanning (a literal or an alternation of literals).
    var setMatches: [String]? {
        guard !kind.isNegative else { return nil }
        switch test {
        case .literal(let v): return [v]
        case .set(let values): return values.map(\.string)
        case .smallSet(let values): return values
        default: return nil
        }
    }

    /// `job=~"api|web"`, the PromQL spelling.
    public var description: String { "\(name)\(kind.rawValue)\(goQuote(value))" }

    public static func == (a: Matcher, b: Matcher) -> Bool {
        a.kind == b.kind && equalUTF8(a.name, b.name) && equalUTF8(a.value, b.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(ByteString(name))
        hasher.combine(ByteString(value))
    }
}

/// How a matcher tests a value, before negation. Chosen once when the matcher is built.
enum ValueTest: Sendable {
    case literal(String)
    case set(Set<ByteString>)
    /// Up to `smallSetLimit` literals: comparing bytes beats hashing (measured in Benchmarks).
    case smallSet([String])
    case prefix(String)
    case suffix(String)
    case contains(String)
    case any
    case nonEmpty
    case regex(PCRE2Regex)

    init(regex pattern: String) throws(TSDBError) {
        // Compile even when a fast path applies, so invalid syntax is always an error.
        let compiled = try PCRE2Regex(pattern)
        if let fast = ValueTest.fastPath(for: pattern) {
            self = fast
        } else {
            self = .regex(compiled)
        }
    }

    static let smallSetLimit = 8

    private static let meta: Set<Character> = ["\\", ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$"]

    private static func isLiteral(_ s: Substring) -> Bool { !s.contains(where: { meta.contains($0) }) }

    static func fastPath(for p: String) -> ValueTest? {
        if p == ".*" { return .any }
        if p == ".+" { return .nonEmpty }
        let s = Substring(p)
        if isLiteral(s) { return .literal(p) }
        if s.hasSuffix(".*") && s.hasPrefix(".*") && s.count > 4 && isLiteral(s.dropFirst(2).dropLast(2)) {
            return .contains(String(s.dropFirst(2).dropLast(2)))
        }
        if s.hasSuffix(".*") && isLiteral(s.dropLast(2)) { return .prefix(String(s.dropLast(2))) }
        if s.hasPrefix(".*") && isLiteral(s.dropFirst(2)) { return .suffix(String(s.dropFirst(2))) }
        var body = s
        if body.hasPrefix("(") && body.hasSuffix(")") && !body.hasPrefix("(?") {
            body = body.dropFirst().dropLast()
        }
        let alternatives = body.split(separator: "|", omittingEmptySubsequences: false)
        if alternatives.count > 1 && alternatives.allSatisfy(isLiteral) {
            let unique = Set(alternatives.map { ByteString(String($0)) })
            return unique.count <= smallSetLimit ? .smallSet(unique.map(\.string)) : .set(unique)
        }
        return nil
    }

    func matches(_ value: String) -> Bool {
        switch self {
        case .literal(let v): return equalUTF8(v, value)
        case .set(let values): return values.contains(ByteString(value))
        case .smallSet(let values): return values.contains { equalUTF8($0, value) }
        case .prefix(let p): return value.utf8.starts(with: p.utf8)
        case .suffix(let s): return value.utf8.reversed().starts(with: s.utf8.reversed())
        case .contains(let c): return containsUTF8(value, c)
        case .any: return true
        case .nonEmpty: return !value.isEmpty
        case .regex(let r): return r.matches(value)
        }
    }
}

/// Whether `needle`'s bytes occur in `haystack`'s, without copying either.
private func containsUTF8(_ haystack: String, _ needle: String) -> Bool {
    var h = haystack
    var n = needle
    return h.withUTF8 { hb in
        n.withUTF8 { nb in
            if nb.isEmpty { return true }
            guard nb.count <= hb.count else { return false }
            // memmem is a GNU extension Glibc's module map leaves out: memchr, then memcmp.
            let first = Int32(nb[0])
            var start = 0
            let last = hb.count - nb.count
            while start <= last {
                guard let hit = memchr(hb.baseAddress! + start, first, last - start + 1) else { return false }
                let at = hb.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(hb.baseAddress! + at, nb.baseAddress!, nb.count) == 0 { return true }
                start = at + 1
            }
            return false
        }
    }
}
