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
        var errorCode: Int32 = 0
        var errorOffset = 0
        var utf8 = Array(translated.utf8)
        let compiled = utf8.withUnsafeMutableBufferPointer { buf in
            pcre2_compile_8(buf.baseAddress, buf.count, Self.options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            var message = [UInt8](repeating: 0, count: 256)
            let n = pcre2_get_error_message_8(errorCode, &message, message.count)
            let text = n > 0 ? String(decoding: message[..<Int(n)], as: UTF8.self) : "error \(errorCode)"
            throw TSDBError(.invalidMatcher, "error parsing regexp \(goQuoteForError(pattern)): \(text) at offset \(errorOffset)")
        }
        code = compiled
        jit = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
        utf8.removeAll()
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
