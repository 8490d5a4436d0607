/// A PromQL parse or type error with Prometheus 2.42's message and the byte range it
/// refers to. `description` renders it as Prometheus does: `1:14: parse error: …`.
public struct PromQLParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message without position, e.g. `unexpected end of input`.
    public var message: String
    /// Byte offsets into the query (start inclusive, end exclusive).
    public var start: Int
    public var end: Int
    /// The query text, to compute line and column.
    public var query: [UInt8]

    public init(message: String, start: Int = 0, end: Int = 0, query: [UInt8] = []) {
        self.message = message
        self.start = start
        self.end = end
        self.query = query
    }

    /// 1-based line and byte column of `start`, as Prometheus counts them.
    public var lineAndColumn: (line: Int, column: Int)? {
        guard start >= 0, start <= query.count else { return nil }
        var line = 1, lastBreak = -1
        for i in 0..<start where query[i] == 10 { line += 1; lastBreak = i }
        return (line, start - lastBreak)
    }

    public var description: String {
        guard let (line, column) = lineAndColumn else { return "invalid position: parse error: \(message)" }
        return "\(line):\(column): parse error: \(message)"
    }
}
