import Exposition
import TSDB

/// `<data dir>/push/groups` (FORMAT.md, "Push groups"): a first line `push-groups 1`, then
/// per group a header line
/// `group <push time> <failure time> <text bytes> <name>=<base64url value>…` and the group's
/// families in the text format 0.0.4, exactly `<text bytes>` long.
enum PushGroupsFile {
    static let magic = "push-groups 1\n"

    static func encode(_ groups: [PushGroup]) -> [UInt8] {
        var out = Array(magic.utf8)
        for g in groups {
            let families = g.families.values.sorted { $0.name < $1.name }.map { f in
                var f = f
                f.metrics.sort(by: PushExposition.metricLess)
                return f
            }
            let text = Array(PushExposition.text(families).utf8)
            var header = "group \(GoFormat.float(g.pushTime)) \(GoFormat.float(g.failureTime)) \(text.count)"
            for l in g.grouping.labels { header += " \(l.name)=\(encodeBase64(l.value))" }
            out += Array((header + "\n").utf8)
            out += text
        }
        return out
    }

    /// The groups in `bytes`; a damaged file is a ``TSDBError/Code/corruption`` naming `file`
    /// and the offset where reading failed.
    static func decode(_ bytes: [UInt8], file: String) throws(TSDBError) -> [PushGroup] {
        func corrupt(_ offset: Int, _ what: String) -> TSDBError {
            TSDBError(.corruption, "push groups file: \(what)", location: .init(file: file, offset: offset))
        }
        let magicBytes = Array(magic.utf8)
        guard bytes.count >= magicBytes.count, Array(bytes[0..<magicBytes.count]) == magicBytes else {
            throw corrupt(0, "expected the first line \"push-groups 1\"")
        }
        var groups: [PushGroup] = []
        var offset = magicBytes.count
        while offset < bytes.count {
            let lineStart = offset
            guard let newline = bytes[offset...].firstIndex(of: 0x0A) else { throw corrupt(offset, "group header without a newline") }
            let fields = String(decoding: bytes[offset..<newline], as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count >= 4, fields[0] == "group",
                  let pushTime = parseFloat(fields[1]), let failureTime = parseFloat(fields[2]),
                  let length = Int(fields[3]), length >= 0, length <= bytes.count - newline - 1 else {
                throw corrupt(lineStart, "expected \"group <push time> <failure time> <text bytes> <labels>\" within the file")
            }
            var labels: [(name: String, value: String)] = []
            for field in fields.dropFirst(4) {
                guard let eq = field.firstIndex(of: "="), case .success(let value) = GroupingPath.decodeBase64(String(field[field.index(after: eq)...])),
                      GroupingPath.isLabelName(String(field[..<eq])) else {
                    throw corrupt(lineStart, "invalid grouping label \(goQuote(String(field)))")
                }
                labels.append((name: String(field[..<eq]), value: value))
            }
            guard labels.contains(where: { $0.name == "job" && !$0.value.isEmpty }) else { throw corrupt(lineStart, "group without a job") }
            labels.sort { $0.name < $1.name }
            let grouping = GroupingPath(labels: labels)
            let textStart = newline + 1
            let parsed = bytes[textStart..<(textStart + length)].withUnsafeBytes { PushText.parse($0) }
            switch parsed {
            case .failure(let e): throw corrupt(textStart, "in the group at offset \(lineStart): \(e.message)")
            case .success(var p):
                PushText.applyGrouping(grouping, to: &p.families)
                groups.append(PushGroup(grouping: grouping, families: p.families, pushTime: pushTime, failureTime: failureTime))
            }
            offset = textStart + length
        }
        return groups
    }

    static func parseFloat(_ s: Substring) -> Double? {
        TextParser.parseGoFloat(String(s))
    }

    /// base64url without padding; the empty value as `=` (what the Pushgateway's clients send).
    static func encodeBase64(_ s: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let input = Array(s.utf8)
        guard !input.isEmpty else { return "=" }
        var out: [UInt8] = []
        var i = 0
        while i < input.count {
            let n = min(3, input.count - i)
            var chunk: UInt32 = 0
            for k in 0..<3 { chunk = chunk << 8 | (k < n ? UInt32(input[i + k]) : 0) }
            for k in 0..<(n + 1) { out.append(alphabet[Int((chunk >> UInt32(18 - 6 * k)) & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
