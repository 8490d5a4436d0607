import CPCRE2
import Synchronization

/// A compiled, JIT-ed PCRE2 pattern that matches whole UTF-8 strings, with RE2 semantics
/// as Prometheus compiles matchers: `^(?s:pattern)$`.
///
/// Thread-safe: match data blocks come from a small pool, so concurrent matches don't share one.
final class PCRE2Regex: @unchecked Sendable {
    // Immutable after init; PCRE2 code is safe to share between threads for matching.
    private let code: OpaquePointer
    private let jit: Bool
    /// Free match-data blocks, as pointer bit patterns (OpaquePointer is not Sendable).
    private let pool = Mutex<[UInt]>([])

    /// UTF, '.' matches newline, anchored at both ends, '$' only at the very end, no `\C`,
    /// no Unicode-wide `\d \w`, no numbered captures (so `\1` cannot be a backreference).
    private static let options: UInt32 = UInt32(PCRE2_UTF) | UInt32(PCRE2_DOTALL) | UInt32(PCRE2_ANCHORED)
        | UInt32(PCRE2_ENDANCHORED) | UInt32(PCRE2_DOLLAR_ENDONLY) | UInt32(PCRE2_NEVER_BACKSLASH_C)
        | UInt32(PCRE2_NEVER_UCP) | UInt32(PCRE2_NO_AUTO_CAPTURE)

    init(_ pattern: String) throws(TSDBError) {
        let translated = try RE2Syntax.translate(pattern)
        (code, jit) = try compilePCRE2(translated, options: Self.options, original: pattern)
    }

    deinit {
        for md in pool.withLock({ $0 }) { pcre2_match_data_free_8(OpaquePointer(bitPattern: md)) }
        pcre2_code_free_8(code)
    }

    /// Whether the whole of `value` matches. A match that PCRE2 cannot finish (a resource
    /// limit) counts as no match.
    func matches(_ value: String) -> Bool {
        let pooled = pool.withLock { $0.popLast() }
        let md = pooled.flatMap { OpaquePointer(bitPattern: $0) } ?? pcre2_match_data_create_from_pattern_8(code, nil)!
        defer {
            let bits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(md)))
            let kept = pool.withLock { p in
                guard p.count < 8 else { return false }
                p.append(bits)
                return true
            }
            if !kept { pcre2_match_data_free_8(md) }
        }
        var v = value
        return v.withUTF8 { buf in
            let subject = buf.baseAddress ?? UnsafePointer(bitPattern: 1)!
            var rc: Int32 = jit ? pcre2_jit_match_8(code, subject, buf.count, 0, 0, md, nil) : -1
            if !jit || (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
                // Interpreter: also the fallback when the JIT runs out of stack.
                rc = pcre2_match_8(code, subject, buf.count, 0, UInt32(PCRE2_NO_UTF_CHECK), md, nil)
            }
            return rc >= 0
        }
    }
}

/// A compiled RE2-syntax pattern with capture groups, for PromQL's `label_replace`: the pattern
/// is used as written (callers add their own `^(?:…)$`), searched unanchored like Go's
/// `FindStringSubmatchIndex`, '.' does not match a newline, and `$` without `(?m)` only
/// matches at the very end, as in Go.
package final class PCRE2CaptureRegex: @unchecked Sendable {
    private let code: OpaquePointer
    private let jit: Bool
    /// The number of capture groups, not counting the whole match.
    package let groupCount: Int
    /// Named groups: name and group number, in group order (a name may repeat, as Go allows).
    package let groupNames: [(name: String, group: Int)]

    private static let options: UInt32 = UInt32(PCRE2_UTF) | UInt32(PCRE2_DOLLAR_ENDONLY)
        | UInt32(PCRE2_NEVER_BACKSLASH_C) | UInt32(PCRE2_NEVER_UCP)

    /// - Throws: ``TSDBError/Code/invalidMatcher`` for a pattern Go or PCRE2 rejects.
    package init(_ pattern: String) throws(TSDBError) {
        let (translated, names) = try Self.numberNamedGroups(try RE2Syntax.translate(pattern), original: pattern)
        let compiled: OpaquePointer
        (compiled, jit) = try compilePCRE2(translated, options: Self.options, original: pattern)
        code = compiled

        var captures: UInt32 = 0
        _ = pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &captures)
        groupCount = Int(captures)

        groupNames = names
    }

    deinit { pcre2_code_free_8(code) }

    /// Go's names for groups differ from PCRE2's: Go (as in Prometheus 2.42) accepts `(?P<name>`
    /// with any word characters, a leading digit or a repeated name included, and rejects
    /// `(?<name>`. So named groups become plain groups here and the names are kept aside,
    /// numbered as Go numbers them (every capturing '(' in order).
    private static func numberNamedGroups(_ pattern: String, original: String) throws(TSDBError)
        -> (String, [(name: String, group: Int)]) {
        let chars = Array(pattern.unicodeScalars)
        var out = String.UnicodeScalarView()
        var names: [(name: String, group: Int)] = []
        var group = 0
        var inClass = false
        var classStart = 0
        var i = 0
        func reject(_ what: String) -> TSDBError {
            TSDBError(.invalidMatcher, "error parsing regexp \(goQuoteForError(original)): \(what)")
        }
        func at(_ k: Int) -> Unicode.Scalar? { k < chars.count ? chars[k] : nil }
        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                if at(i + 1) == "Q" {
                    // Literal text up to \E (or the end).
                    var j = i + 2
                    while j < chars.count && !(chars[j] == "\\" && at(j + 1) == "E") { j += 1 }
                    let end = Swift.min(j + 2, chars.count)
                    out.append(contentsOf: chars[i..<end])
                    i = end
                    continue
                }
                out.append(c)
                if let e = at(i + 1) { out.append(e) }
                i += 2
                continue
            }
            if inClass {
                if c == "[" && at(i + 1) == ":", let end = (i + 2..<chars.count).first(where: { chars[$0] == "]" }) {
                    out.append(contentsOf: chars[i...end])
                    i = end + 1
                    continue
                }
                if c == "]" && i > classStart { inClass = false }
                out.append(c)
                i += 1
                continue
            }
            switch c {
            case "[":
                inClass = true
                out.append(c)
                i += 1
                if at(i) == "^" { out.append("^"); i += 1 }
                classStart = i
                if at(i) == "]" { out.append("]"); i += 1 }
                continue
            case "(":
                guard at(i + 1) == "?" else {
                    group += 1
                    break
                }
                if at(i + 2) == "P" && at(i + 3) == "<" {
                    var j = i + 4
                    var name = String.UnicodeScalarView()
                    while let s = at(j), s != ">" {
                        name.append(s)
                        j += 1
                    }
                    guard at(j) == ">" else { throw reject("invalid named capture") }
                    let valid = !name.isEmpty && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
                    guard valid else { throw reject("invalid named capture") }
                    group += 1
                    names.append((String(name), group))
                    out.append("(")
                    i = j + 1
                    continue
                }
                if at(i + 2) == "<" { throw reject("invalid or unsupported Perl syntax") }
            default:
                break
            }
            out.append(c)
            i += 1
        }
        return (String(out), names)
    }

    /// The UTF-8 byte ranges of the whole match (index 0) and of each group (nil where the
    /// group did not take part), for the leftmost match in `value`; nil when there is none.
    /// A match PCRE2 cannot finish (a resource limit) counts as no match.
    package func captures(_ value: String) -> [Range<Int>?]? {
        guard let md = pcre2_match_data_create_from_pattern_8(code, nil) else { return nil }
        defer { pcre2_match_data_free_8(md) }
        var v = value
        return v.withUTF8 { buf -> [Range<Int>?]? in
            guard let subject = buf.baseAddress ?? UnsafePointer(bitPattern: 1) else { return nil }
            var rc: Int32 = jit ? pcre2_jit_match_8(code, subject, buf.count, 0, 0, md, nil) : -1
            if !jit || (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
                rc = pcre2_match_8(code, subject, buf.count, 0, UInt32(PCRE2_NO_UTF_CHECK), md, nil)
            }
            guard rc > 0, let ovector = pcre2_get_ovector_pointer_8(md) else { return nil }
            let pairs = Int(pcre2_get_ovector_count_8(md))
            var out: [Range<Int>?] = []
            out.reserveCapacity(groupCount + 1)
            for i in 0...groupCount {
                // Pairs at or past rc were not set by this match.
                guard i < Int(rc), i < pairs else { out.append(nil); continue }
                let start = ovector[2 * i], end = ovector[2 * i + 1]
                // PCRE2_UNSET is ~0, which size_t → Int makes -1.
                if start < 0 || end < 0 || start > end || end > buf.count {
                    out.append(nil)
                } else {
                    out.append(Int(start)..<Int(end))
                }
            }
            return out
        }
    }
}

/// Compiles a translated pattern and JIT-compiles it where the platform allows; a pattern
/// PCRE2 rejects is an `invalidMatcher` error naming the original pattern.
private func compilePCRE2(_ translated: String, options: UInt32, original pattern: String) throws(TSDBError)
    -> (code: OpaquePointer, jit: Bool) {
    var errorCode: Int32 = 0
    var errorOffset = 0
    var utf8 = Array(translated.utf8)
    let compiled = utf8.withUnsafeMutableBufferPointer { buf in
        pcre2_compile_8(buf.baseAddress, buf.count, options, &errorCode, &errorOffset, nil)
    }
    guard let compiled else {
        var message = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(errorCode, &message, message.count)
        let text = n > 0 ? String(decoding: message[..<Int(n)], as: UTF8.self) : "error \(errorCode)"
        throw TSDBError(.invalidMatcher, "error parsing regexp \(goQuoteForError(pattern)): \(text) at offset \(errorOffset)")
    }
    return (compiled, pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0)
}
