/// A JSON value that keeps what `meta.json` needs to survive a read and a rewrite: the
/// order of object members and the exact text of numbers (FORMAT.md §9.2).
enum JSONValue: Hashable, Sendable {
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    /// The number's literal text, as it appeared (or will appear) in the file.
    case number(String)
    case bool(Bool)
    case null
}

struct JSONMember: Hashable, Sendable {
    var key: String
    var value: JSONValue
    /// Where the value begins in the file it was parsed from (0 for members made in
    /// memory), for errors; not part of equality.
    var offset = 0

    init(key: String, value: JSONValue, offset: Int = 0) {
        self.key = key
        self.value = value
        self.offset = offset
    }

    static func == (a: JSONMember, b: JSONMember) -> Bool { a.key == b.key && a.value == b.value }
    func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(value)
    }
}

/// Parses RFC 8259 JSON from bytes that came from disk. Never traps: every malformed
/// input, including nesting deeper than ``maxDepth``, throws a corruption error that names
/// the file and the byte offset.
///
/// Like Go's `encoding/json`: invalid UTF-8 and unpaired surrogate escapes in strings
/// become U+FFFD; a duplicate key keeps its first position and its last value.
struct JSONParser {
    /// meta.json nests 4 deep; the limit keeps recursion far from the stack's end.
    static let maxDepth = 100

    private var reader: ByteReader<[UInt8]>
    private var depth = 0

    static func parse(_ bytes: [UInt8], file: String?) throws(TSDBError) -> JSONValue {
        var parser = JSONParser(reader: ByteReader(bytes, file: file))
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.reader.isAtEnd else { throw parser.reader.error("expected end of JSON, found more data") }
        return value
    }

    private init(reader: ByteReader<[UInt8]>) { self.reader = reader }

    private func peek() -> UInt8? {
        reader.isAtEnd ? nil : reader.bytes[reader.offset]
    }

    private mutating func skipWhitespace() {
        while let b = peek(), b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { try? reader.skip(1) }
    }

    private mutating func expect(_ literal: String) throws(TSDBError) {
        let start = reader.offset
        for expected in literal.utf8 {
            guard (try? reader.readByte()) == expected else { throw reader.error("expected JSON literal '\(literal)'", at: start) }
        }
    }

    private mutating func parseValue() throws(TSDBError) -> JSONValue {
        guard let b = peek() else { throw reader.error("expected a JSON value, found end of data") }
        switch b {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw reader.error("expected a JSON value, found byte 0x\(Hex.string(b))")
        }
    }

    private mutating func enter() throws(TSDBError) {
        depth += 1
        guard depth <= Self.maxDepth else { throw reader.error("JSON nested deeper than \(Self.maxDepth) levels") }
        try reader.skip(1)
        skipWhitespace()
    }

    private mutating func parseObject() throws(TSDBError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var members: [JSONMember] = []
        var positions: [String: Int] = [:]
        if peek() == UInt8(ascii: "}") { try reader.skip(1); return .object(members) }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw reader.error("expected a JSON object key") }
            let key = try parseString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw reader.error("expected ':' after JSON object key") }
            try reader.skip(1)
            skipWhitespace()
            let valueAt = reader.baseOffset + reader.offset
            let value = try parseValue()
            if let i = positions[key] {
                members[i].value = value
                members[i].offset = valueAt
            } else {
                positions[key] = members.count
                members.append(JSONMember(key: key, value: value, offset: valueAt))
            }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): try reader.skip(1); skipWhitespace()
            case UInt8(ascii: "}"): try reader.skip(1); return .object(members)
            default: throw reader.error("expected ',' or '}' in JSON object")
            }
        }
    }

    private mutating func parseArray() throws(TSDBError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var elements: [JSONValue] = []
        if peek() == UInt8(ascii: "]") { try reader.skip(1); return .array(elements) }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): try reader.skip(1); skipWhitespace()
            case UInt8(ascii: "]"): try reader.skip(1); return .array(elements)
            default: throw reader.error("expected ',' or ']' in JSON array")
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as text.
    private mutating func parseNumber() throws(TSDBError) -> String {
        let start = reader.offset
        func digits(_ p: inout JSONParser) throws(TSDBError) -> Int {
            var n = 0
            while let b = p.peek(), b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { try p.reader.skip(1); n += 1 }
            guard n > 0 else { throw p.reader.error("expected a digit in JSON number", at: start) }
            return n
        }
        if peek() == UInt8(ascii: "-") { try reader.skip(1) }
        let leadingZero = peek() == UInt8(ascii: "0")
        let intDigits = try digits(&self)
        guard !(leadingZero && intDigits > 1) else { throw reader.error("JSON number has a leading zero", at: start) }
        if peek() == UInt8(ascii: ".") { try reader.skip(1); _ = try digits(&self) }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            try reader.skip(1)
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { try reader.skip(1) }
            _ = try digits(&self)
        }
        return String(decoding: reader.bytes[start..<reader.offset], as: UTF8.self)
    }

    private mutating func parseString() throws(TSDBError) -> String {
        let start = reader.offset
        try reader.skip(1)  // the opening quote
        var utf8: [UInt8] = []
        while true {
            let b: UInt8
            do { b = try reader.readByte() } catch { throw reader.error("unterminated JSON string", at: start) }
            switch b {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)  // invalid UTF-8 becomes U+FFFD
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0..<0x20:
                throw reader.error("control character in JSON string", at: reader.offset - 1)
            default:
                utf8.append(b)
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(TSDBError) {
        let at = reader.offset - 1
        switch try reader.readByte() {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4(at: at)
            if (0xD800..<0xDC00).contains(scalar), peek() == UInt8(ascii: "\\") {
                let save = reader
                try reader.skip(1)
                if (try? reader.readByte()) == UInt8(ascii: "u"), case let low = try readHex4(at: at), (0xDC00..<0xE000).contains(low) {
                    scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                } else {
                    reader = save  // unpaired: U+FFFD, and the next escape stands alone
                }
            }
            let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
            utf8.append(contentsOf: String(Character(s)).utf8)
        default:
            throw reader.error("invalid escape in JSON string", at: at)
        }
    }

    private mutating func readHex4(at: Int) throws(TSDBError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = Hex.digit(try reader.readByte()) else { throw reader.error("invalid \\u escape in JSON string", at: at) }
            v = v << 4 | UInt32(d)
        }
        return v
    }
}

/// Writes JSON exactly as Go's `json.MarshalIndent(v, "", "\t")` does (FORMAT.md §9.2):
/// members one per line, indented by tabs, `"key": value`, empty objects and arrays as
/// `{}` and `[]`, no trailing newline, and strings escaped as Go 1.19 escapes them.
struct GoJSONWriter {
    private(set) var bytes: [UInt8] = []

    mutating func write(_ value: JSONValue, depth: Int = 0) {
        switch value {
        case .object(let members):
            guard !members.isEmpty else { return append("{}") }
            bytes.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                writeString(member.key)
                append(": ")
                write(member.value, depth: depth + 1)
            }
            newline(depth)
            bytes.append(UInt8(ascii: "}"))
        case .array(let elements):
            guard !elements.isEmpty else { return append("[]") }
            bytes.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                write(element, depth: depth + 1)
            }
            newline(depth)
            bytes.append(UInt8(ascii: "]"))
        case .string(let s): writeString(s)
        case .number(let text): append(text)
        case .bool(let b): append(b ? "true" : "false")
        case .null: append("null")
        }
    }

    private mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    private mutating func newline(_ depth: Int) {
        bytes.append(0x0A)
        bytes.append(contentsOf: repeatElement(0x09, count: depth))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Go's `encodeState.string` with HTML escaping on: `"` and `\` escaped, `\n` `\r` `\t`
    /// short, other controls and `<` `>` `&` U+2028 U+2029 as `\u00XX`/`\u20XX`.
    mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: append("\\\"")
            case 0x5C: append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0..<0x20, 0x3C, 0x3E, 0x26, 0x2028, 0x2029:
                append("\\u")
                for shift in stride(from: 12, through: 0, by: -4) {
                    bytes.append(Self.hexDigits[Int(scalar.value >> UInt32(shift) & 0xF)])
                }
            default:
                bytes.append(contentsOf: String(Character(scalar)).utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
