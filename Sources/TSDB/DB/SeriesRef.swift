/// A series' reference in the head: returned by the first append of a label set and
/// accepted by the fast `append(_:timestamp:value:)` for as long as the DB is open.
public struct SeriesRef: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}
