import TSDB

/// Why a query failed, with the message Prometheus 2.42 gives.
///
/// `kind` maps to the HTTP API's `errorType`: `.parse` is `bad_data`, `.execution` and
/// `.tooManySamples` are `execution`, `.timeout` is `timeout`, `.canceled` is `canceled`,
/// `.storage` is `internal`.
public struct PromQLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case parse, execution, tooManySamples, timeout, canceled, storage
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public init(_ error: PromQLParseError) {
        self.init(.parse, error.description)
    }

    public var description: String { message }

    /// Prometheus's `ErrTooManySamples` text.
    static func tooManySamples(_ env: String = "query execution") -> PromQLError {
        PromQLError(.tooManySamples, "query processing would load too many samples into memory in \(env)")
    }
}
