import TSDB

/// The grouping key of a push path, `/metrics/job/<job>{/<label>/<value>}`, decoded as
/// Pushgateway 1.5.1 decodes it: the path is percent-decoded first (as Go's `URL.Path`),
/// a `job@base64` segment or a `<label>@base64` name means the value is base64url (padding
/// optional, `=` alone for the empty value), and the path's job overrides a `job` label.
struct GroupingPath: Sendable, Equatable {
    /// Sorted by name; `job` always present and non-empty.
    var labels: [(name: String, value: String)]

    static func == (a: GroupingPath, b: GroupingPath) -> Bool {
        a.labels.count == b.labels.count && zip(a.labels, b.labels).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// Why a path is refused: `notFound` where the Pushgateway's router has no route,
    /// `badRequest` with its message otherwise.
    enum Failure: Error, Equatable {
        case notFound
        case badRequest(String)
    }

    static let base64Suffix = "@base64"

    /// Decodes `path`, the request path after `/metrics` (for example `/job/a/instance/b`).
    static func parse(_ rawPath: String) -> Result<GroupingPath, Failure> {
        let path = percentDecode(rawPath)
        var rest = Substring(path)
        guard rest.hasPrefix("/") else { return .failure(.notFound) }
        rest = rest.dropFirst()
        let base64Job: Bool
        if rest.hasPrefix("job/") {
            base64Job = false
            rest = rest.dropFirst(4)
        } else if rest.hasPrefix("job@base64/") {
            base64Job = true
            rest = rest.dropFirst(11)
        } else {
            return .failure(.notFound)
        }
        let jobEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var job = String(rest[..<jobEnd])
        let labelsString = String(rest[jobEnd...])
        if base64Job {
            // Go's router has no route for an empty `:job` parameter.
            if job.isEmpty { return .failure(.notFound) }
            switch decodeBase64(job) {
            case .success(let decoded): job = decoded
            case .failure(let e):
                return .failure(.badRequest("invalid base64 encoding in job name \(goQuote(e.partial)): \(e.message)"))
            }
        }
        var labels: [String: String] = [:]
        if labelsString.count > 1 {
            let components = labelsString.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard components.count % 2 == 0 else {
                return .failure(.badRequest("odd number of components in label string \(goQuote(labelsString))"))
            }
            var i = 0
            while i + 1 < components.count {
                let name = components[i], value = components[i + 1]
                let trimmed = name.hasSuffix(base64Suffix) ? String(name.dropLast(base64Suffix.count)) : name
                guard isLabelName(trimmed), !trimmed.hasPrefix("__") else {
                    return .failure(.badRequest("improper label name \(goQuote(trimmed))"))
                }
                if trimmed == name {
                    labels[name] = value
                } else {
                    switch decodeBase64(value) {
                    case .success(let decoded): labels[trimmed] = decoded
                    case .failure(let e):
                        return .failure(.badRequest("invalid base64 encoding for label \(trimmed)=\(goQuote(value)): \(e.message)"))
                    }
                }
                i += 2
            }
        }
        guard !job.isEmpty else { return .failure(.badRequest("job name is required")) }
        labels["job"] = job
        return .success(GroupingPath(labels: labels.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }))
    }

    /// The redirect the Pushgateway answers before routing: Go's `ServeMux` sends an unclean
    /// path (`//`, `.` or `..` segments) to its cleaned form with 301, and its router sends
    /// `/metrics/job/` (an empty job) to `/metrics/job` with 307.
    static func redirect(for path: String) -> (status: Int, location: String)? {
        let clean = cleanPath(path)
        if clean != path { return (301, clean) }
        if path == "/metrics/job/" { return (307, "/metrics/job") }
        return nil
    }

    /// Go's `path.Clean`, keeping a trailing slash as `ServeMux`'s `cleanPath` does.
    static func cleanPath(_ path: String) -> String {
        var parts: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(segment)
            }
        }
        var clean = "/" + parts.joined(separator: "/")
        if path.hasSuffix("/") && clean != "/" { clean += "/" }
        return clean
    }

    /// The key the store files the group under: Pushgateway's `groupingKeyFor`, names and
    /// values joined by 0xFF.
    var key: String {
        labels.map { $0.name + "\u{FF}" + $0.value }.joined(separator: "\u{FF}")
    }

    static func isLabelName(_ s: String) -> Bool {
        guard let first = s.utf8.first, first == UInt8(ascii: "_") || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A) else { return false }
        return s.utf8.allSatisfy { c in
            c == UInt8(ascii: "_") || (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
        }
    }

    struct Base64Error: Error {
        var partial: String
        var message: String
    }

    /// Go's `base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))`; the error
    /// carries Go's message and what was decoded before it.
    static func decodeBase64(_ text: String) -> Result<String, Base64Error> {
        var input = Array(text.utf8)
        while input.last == UInt8(ascii: "=") { input.removeLast() }
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for (i, c) in input.enumerated() {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "_"): v = 63
            default:
                return .failure(Base64Error(partial: String(decoding: out, as: UTF8.self), message: "illegal base64 data at input byte \(i)"))
            }
            accumulator = accumulator << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        if input.count % 4 == 1 {
            return .failure(Base64Error(partial: String(decoding: out, as: UTF8.self),
                                        message: "illegal base64 data at input byte \(input.count - 1)"))
        }
        return .success(String(decoding: out, as: UTF8.self))
    }

    /// `%XX` → the byte; anything else as is.
    static func percentDecode(_ s: String) -> String {
        TSDBServer.pathUnescape(s)
    }
}
