/// One name/value pair of a label set.
public struct Label: Sendable, Hashable, Comparable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static func == (a: Label, b: Label) -> Bool {
        equalUTF8(a.name, b.name) && equalUTF8(a.value, b.value)
    }

    /// Name first, then value, both compared byte-wise as Prometheus does.
    public static func < (a: Label, b: Label) -> Bool {
        let c = compareUTF8(a.name, b.name)
        return c != 0 ? c < 0 : compareUTF8(a.value, b.value) < 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ByteString(name))
        hasher.combine(ByteString(value))
    }
}

/// An immutable, non-empty set of labels sorted by name, identifying one series.
///
/// Names are unique and match `[a-zA-Z_][a-zA-Z0-9_]*`; values are any UTF-8. A label with an
/// empty value is the same as no label at all, as in Prometheus, so it is dropped on creation.
/// Equality and ordering compare bytes, and the order is the one Prometheus sorts series in.
public struct Labels: Sendable, Hashable, Comparable, RandomAccessCollection, CustomStringConvertible {
    @usableFromInline let storage: [Label]

    /// Builds a label set from pairs in any order.
    /// - Throws: ``TSDBError/Code/invalidLabels`` for an invalid or duplicate name, or when no
    ///   label with a non-empty value remains.
    public init(_ pairs: some Sequence<(String, String)>) throws(TSDBError) {
        var labels: [Label] = []
        for (name, value) in pairs where !value.isEmpty {
            labels.append(Label(name: name, value: value))
        }
        try self.init(validating: labels)
    }

    /// Builds a label set from a dictionary, e.g. `try Labels(["__name__": "up", "job": "api"])`.
    public init(_ dictionary: [String: String]) throws(TSDBError) {
        try self.init(dictionary.map { ($0.key, $0.value) })
    }

    /// Builds a label set from `Label`s in any order; empty values are dropped.
    public init(validating labels: [Label]) throws(TSDBError) {
        var sorted = labels.filter { !$0.value.isEmpty }
        guard !sorted.isEmpty else {
            throw TSDBError(.invalidLabels, "a label set needs at least one label with a non-empty value")
        }
        sorted.sort { compareUTF8($0.name, $1.name) < 0 }
        for (i, label) in sorted.enumerated() {
            guard Labels.isValidName(label.name) else {
                throw TSDBError(.invalidLabels, "invalid label name \(goQuote(label.name)): must match [a-zA-Z_][a-zA-Z0-9_]*")
            }
            if i > 0, equalUTF8(sorted[i - 1].name, label.name) {
                throw TSDBError(.invalidLabels, "duplicate label name \(goQuote(label.name))")
            }
        }
        storage = sorted
    }

    /// For callers that already hold sorted, validated, non-empty labels (decoders check first).
    package init(uncheckedSorted labels: [Label]) {
        storage = labels
    }

    /// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isValidName(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            let letter = (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b == 0x5f
            let digit = b >= 0x30 && b <= 0x39
            if !(letter || (!first && digit)) { return false }
            first = false
        }
        return !first
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }
    public subscript(position: Int) -> Label { storage[position] }

    /// The value of the label `name`, or nil when the set has no such label.
    public subscript(name: String) -> String? {
        for label in storage where equalUTF8(label.name, name) { return label.value }
        return nil
    }

    /// The metric name, the value of `__name__`.
    public var metricName: String? { self["__name__"] }

    public static func == (a: Labels, b: Labels) -> Bool { a.storage == b.storage }

    public static func < (a: Labels, b: Labels) -> Bool { compare(a, b) < 0 }

    /// Prometheus's `labels.Compare`: pairwise by name then value, then the shorter set first.
    public static func compare(_ a: Labels, _ b: Labels) -> Int {
        let n = Swift.min(a.storage.count, b.storage.count)
        for i in 0..<n {
            let x = a.storage[i]
            let y = b.storage[i]
            let c = compareUTF8(x.name, y.name)
            if c != 0 { return c }
            let d = compareUTF8(x.value, y.value)
            if d != 0 { return d }
        }
        return a.storage.count == b.storage.count ? 0 : (a.storage.count < b.storage.count ? -1 : 1)
    }

    /// xxHash64 of `name 0xff value 0xff …`, the same 64-bit hash as Prometheus's `labels.Hash`.
    public var hash64: UInt64 {
        var h = XXHash64()
        for label in storage {
            h.update(label.name)
            h.update(0xff)
            h.update(label.value)
            h.update(0xff)
        }
        return h.finalize()
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(hash64) }

    /// `{__name__="up", job="api"}`, the form Prometheus's `Labels.String` and `promtool tsdb dump` print.
    public var description: String {
        var s = "{"
        for (i, label) in storage.enumerated() {
            if i > 0 { s += ", " }
            s += label.name
            s += "="
            s += goQuote(label.value)
        }
        return s + "}"
    }
}

/// Go's `strconv.Quote`: double quotes, backslash escapes, `\x..`/`\u....` for unprintables.
/// ``goQuote(_:)`` for an error message: a string longer than `limit` characters is cut to
/// its first `limit` characters and says how long it was, so a hostile 1 MB input does not
/// make a 1 MB message.
func goQuoteForError(_ s: String, limit: Int = 200) -> String {
    guard s.utf8.count > limit else { return goQuote(s) }
    return goQuote(String(s.prefix(limit))) + "… (\(s.utf8.count) bytes)"
}

package func goQuote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\u{07}": out += "\\a"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{0B}": out += "\\v"
        default:
            let v = scalar.value
            if v < 0x20 || v == 0x7f {
                out += "\\x" + Hex.string(v, width: 2)
            } else if v >= 0x80 && !isGoPrintable(scalar) {
                out += v > 0xffff ? "\\U" + Hex.string(v, width: 8) : "\\u" + Hex.string(v, width: 4)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// An approximation of Go's `unicode.IsPrint` for non-ASCII scalars: letters, marks, numbers,
/// punctuation, symbols and the ASCII space are printable; other spaces, controls, format
/// characters, surrogates and unassigned or private-use code points are not.
private func isGoPrintable(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned,
         .spaceSeparator, .lineSeparator, .paragraphSeparator:
        return false
    default:
        return true
    }
}
