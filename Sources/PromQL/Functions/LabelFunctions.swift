import TSDB

/// `label_replace(v, dst, replacement, src, regex)`, compiled once per query.
///
/// As Prometheus 2.42: the regex is compiled as `^(?:regex)$` (RE2 syntax, no `(?s)`), and when
/// it matches the source label's value (empty when absent) the destination is set to the
/// replacement expanded Go's `Regexp.ExpandString` way; an empty result removes the destination.
/// Without a match the labels stay as they are.
struct LabelReplace: Sendable {
    let destination: String
    let replacement: String
    let source: String
    private let regex: PCRE2CaptureRegex

    init(destination: String, replacement: String, source: String, regex: String) throws(PromQLError) {
        do {
            self.regex = try PCRE2CaptureRegex("^(?:" + regex + ")$")
        } catch {
            throw PromQLError(.execution, "invalid regular expression in label_replace(): \(regex)")
        }
        guard Labels.isValidName(destination) else {
            throw PromQLError(.execution, "invalid destination label name in label_replace(): \(destination)")
        }
        self.destination = destination
        self.replacement = replacement
        self.source = source
    }

    func apply(_ labels: Labels) -> Labels {
        let value = labels[source] ?? ""
        guard let match = regex.captures(value) else { return labels }
        let result = GoExpand.expand(replacement, source: Array(value.utf8), match: match, names: regex.groupNames)
        return LabelSet.setting(destination, to: result, in: labels)
    }
}

/// `label_join(v, dst, separator, src...)`, checked once per query.
///
/// As Prometheus 2.42: source names are checked first, in order, then the destination; the
/// destination becomes the sources' values (empty for absent ones) joined by the separator,
/// or is removed when that is empty.
struct LabelJoin: Sendable {
    let destination: String
    let separator: String
    let sources: [String]

    init(destination: String, separator: String, sources: [String]) throws(PromQLError) {
        for source in sources where !Labels.isValidName(source) {
            throw PromQLError(.execution, "invalid source label name in label_join(): \(source)")
        }
        guard Labels.isValidName(destination) else {
            throw PromQLError(.execution, "invalid destination label name in label_join(): \(destination)")
        }
        self.destination = destination
        self.separator = separator
        self.sources = sources
    }

    func apply(_ labels: Labels) -> Labels {
        var joined = ""
        for (i, source) in sources.enumerated() {
            if i > 0 { joined += separator }
            joined += labels[source] ?? ""
        }
        return LabelSet.setting(destination, to: joined, in: labels)
    }
}

/// Editing a sorted label set the way Prometheus's `labels.Builder` does.
enum LabelSet {
    /// `labels` with `name` set to `value`, or without `name` when `value` is empty.
    /// Keeps the labels sorted by name, byte-wise.
    static func setting(_ name: String, to value: String, in labels: Labels) -> Labels {
        var out: [Label] = []
        out.reserveCapacity(labels.count + 1)
        var inserted = value.isEmpty
        for label in labels {
            if label.name.utf8.elementsEqual(name.utf8) { continue }
            if !inserted && name.utf8.lexicographicallyPrecedes(label.name.utf8) {
                out.append(Label(name: name, value: value))
                inserted = true
            }
            out.append(label)
        }
        if !inserted { out.append(Label(name: name, value: value)) }
        return Labels(uncheckedSorted: out)
    }
}

/// Go's `regexp.(*Regexp).ExpandString`.
enum GoExpand {
    /// Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in `template` with the groups of
    /// `match` over `source` (UTF-8 bytes). A name is the longest run of Unicode letters,
    /// digits and '_' after `$` (so `$1x` is the group named `1x`); a number has no leading
    /// zero and fewer than ten digits; a group that does not exist or did not take part gives
    /// nothing; a malformed reference (`$` then no name, `${` without `}`) stays literal.
    static func expand(_ template: String, source: [UInt8], match: [Range<Int>?],
                       names: [(name: String, group: Int)]) -> String {
        var out: [UInt8] = []
        let t = Array(template.unicodeScalars)
        var i = 0
        func appendGroup(_ group: Int) {
            guard group >= 0, group < match.count, let r = match[group],
                  r.lowerBound >= 0, r.upperBound <= source.count else { return }
            out.append(contentsOf: source[r])
        }
        func appendScalars(_ range: Range<Int>) {
            for s in t[range] { out.append(contentsOf: Array(String(s).utf8)) }
        }
        while i < t.count {
            guard let dollar = t[i...].firstIndex(of: "$") else { break }
            appendScalars(i..<dollar)
            i = dollar + 1
            if i < t.count && t[i] == "$" {
                out.append(UInt8(ascii: "$"))
                i += 1
                continue
            }
            guard let (name, rest) = extract(t, from: i) else {
                // Malformed: the '$' is literal text.
                out.append(UInt8(ascii: "$"))
                continue
            }
            i = rest
            if let number = number(name) {
                appendGroup(number)
            } else if let entry = names.first(where: { $0.name.utf8.elementsEqual(name.utf8) }) {
                appendGroup(entry.group)
            }
        }
        appendScalars(i..<t.count)
        return String(decoding: out, as: UTF8.self)
    }

    /// Go's `extract`: the name after a `$` (braced or not) and where the rest begins.
    private static func extract(_ t: [Unicode.Scalar], from start: Int) -> (String, Int)? {
        var i = start
        guard i < t.count else { return nil }
        let brace = t[i] == "{"
        if brace { i += 1 }
        let nameStart = i
        while i < t.count && isNameScalar(t[i]) { i += 1 }
        guard i > nameStart else { return nil }
        var name = ""
        name.unicodeScalars.append(contentsOf: t[nameStart..<i])
        if brace {
            guard i < t.count && t[i] == "}" else { return nil }
            i += 1
        }
        return (name, i)
    }

    /// Go's `unicode.IsLetter || unicode.IsDigit || '_'`.
    private static func isNameScalar(_ s: Unicode.Scalar) -> Bool {
        if s == "_" { return true }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return true
        default:
            return false
        }
    }

    /// The group number a name stands for: ASCII digits only, no leading zero, and Go's
    /// cut-off (a digit arriving once the number is at least 10⁸ makes it a name).
    private static func number(_ name: String) -> Int? {
        var num = 0
        let bytes = Array(name.utf8)
        for b in bytes {
            if b < UInt8(ascii: "0") || b > UInt8(ascii: "9") || num >= 100_000_000 { return nil }
            num = num * 10 + Int(b - UInt8(ascii: "0"))
        }
        if bytes.first == UInt8(ascii: "0") && bytes.count > 1 { return nil }
        return num
    }
}
