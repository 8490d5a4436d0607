/// Something that adds metric families to `GET /metrics`, after the server's own: the
/// push API's groups, for instance, as the Pushgateway exposes them beside its own metrics.
public protocol MetricsSource: Sendable {
    /// The families in the text exposition format (version 0.0.4), each family once.
    func exposition() async -> String
}
