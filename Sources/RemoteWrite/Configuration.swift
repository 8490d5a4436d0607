import TSDB

/// Where and how to send: one remote-write endpoint, as an entry of Prometheus's
/// `remote_write` configuration (simplified).
public struct RemoteWriteEndpoint: Sendable {
    /// The receiver's URL, e.g. `http://127.0.0.1:9090/api/v1/write`.
    public var url: String
    /// Names the position file (`<db>/remote-write/<name>.position`) and the metrics'
    /// `remote_name` label. Letters, digits, `-`, `_` and `.` only.
    public var name: String
    /// Extra request headers (not the four remote write sets itself).
    public var headers: [String: String]
    public var authorization: Authorization?
    public var tls: TLS
    public var queue: QueueSettings
    /// Which series are sent (Prometheus's `write_relabel_configs`, simplified).
    public var filter: LabelFilter

    public init(url: String, name: String, headers: [String: String] = [:], authorization: Authorization? = nil,
                tls: TLS = TLS(), queue: QueueSettings = QueueSettings(), filter: LabelFilter = LabelFilter()) {
        self.url = url
        self.name = name
        self.headers = headers
        self.authorization = authorization
        self.tls = tls
        self.queue = queue
        self.filter = filter
    }

    public enum Authorization: Sendable {
        case basic(username: String, password: String)
        case bearer(token: String)
    }

    public struct TLS: Sendable {
        /// PEM file of the certificate authorities to trust instead of the system's.
        public var caFile: String?
        /// Accept any server certificate (Prometheus's `insecure_skip_verify`).
        public var insecureSkipVerify: Bool

        public init(caFile: String? = nil, insecureSkipVerify: Bool = false) {
            self.caFile = caFile
            self.insecureSkipVerify = insecureSkipVerify
        }
    }
}

/// Prometheus's `queue_config`, with its defaults (v2.42). Durations in seconds.
public struct QueueSettings: Sendable {
    /// Samples buffered per shard before reading the WAL waits.
    public var capacity = 2500
    public var maxShards = 200
    public var minShards = 1
    public var maxSamplesPerSend = 500
    /// A shard sends a partial batch once its oldest sample waited this long.
    public var batchSendDeadline = 5.0
    public var minBackoff = 0.030
    public var maxBackoff = 5.0
    /// On cancellation, how long shards may keep sending what they hold.
    public var flushDeadline = 60.0
    /// How often the number of shards is reconsidered (Prometheus: 10 s).
    public var reshardInterval = 10.0
    /// How often the WAL directory is polled for new records and segments.
    public var pollInterval = 0.1
    /// How often the acknowledged position is saved (and once more at stop).
    public var positionSaveInterval = 1.0
    /// How many segments behind the newest one the sender may fall before it skips a segment
    /// (counting its samples in `prometheus_remote_storage_samples_dropped_total`); the
    /// engine's WAL truncation keeps at most this many unread segments for it.
    public var maxRetainedSegments = 32

    public init() {}
}

/// Keep/drop matchers on a series' labels: a series is sent when it matches every `keep`
/// matcher and none of the `drop` ones (each drop entry is a list of matchers that must all
/// match for the series to be dropped).
public struct LabelFilter: Sendable {
    public var keep: [Matcher]
    public var drop: [[Matcher]]

    public init(keep: [Matcher] = [], drop: [[Matcher]] = []) {
        self.keep = keep
        self.drop = drop
    }

    /// Whether `labels` pass. An absent label has the empty value, as in PromQL.
    public func admits(_ labels: Labels) -> Bool {
        func matches(_ m: Matcher) -> Bool { m.matches(labels[m.name] ?? "") }
        guard keep.allSatisfy(matches) else { return false }
        return !drop.contains { group in !group.isEmpty && group.allSatisfy(matches) }
    }
}

/// The sender's configuration: the endpoints it writes to.
public struct RemoteWriteConfiguration: Sendable {
    public var endpoints: [RemoteWriteEndpoint]
    /// The `User-Agent` header.
    public var userAgent: String

    public init(endpoints: [RemoteWriteEndpoint], userAgent: String = "swift-tsdb-remote-write/0.1") {
        self.endpoints = endpoints
        self.userAgent = userAgent
    }
}

/// Why the sender refused to start or stopped.
public struct RemoteWriteError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension RemoteWriteEndpoint {
    func validated() throws(RemoteWriteError) {
        guard !name.isEmpty, name.utf8.allSatisfy({ c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e
        }), name != ".", name != ".." else {
            throw RemoteWriteError("remote write endpoint name \"\(name)\" must be non-empty letters, digits, '-', '_' or '.'")
        }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw RemoteWriteError("remote write endpoint \(name): URL must be http:// or https://, got \"\(url)\"")
        }
        let q = queue
        guard q.minShards >= 1, q.maxShards >= q.minShards else {
            throw RemoteWriteError("remote write endpoint \(name): need 1 ≤ minShards ≤ maxShards, got \(q.minShards) and \(q.maxShards)")
        }
        guard q.capacity >= 1, q.maxSamplesPerSend >= 1 else {
            throw RemoteWriteError("remote write endpoint \(name): capacity and maxSamplesPerSend must be positive")
        }
        for (label, v) in [("batchSendDeadline", q.batchSendDeadline), ("minBackoff", q.minBackoff), ("maxBackoff", q.maxBackoff),
                           ("flushDeadline", q.flushDeadline), ("reshardInterval", q.reshardInterval), ("pollInterval", q.pollInterval),
                           ("positionSaveInterval", q.positionSaveInterval)] {
            guard v.isFinite, v >= 0, v < 1e9 else { throw RemoteWriteError("remote write endpoint \(name): \(label) must be a finite number of seconds ≥ 0, got \(v)") }
        }
        guard q.maxBackoff >= q.minBackoff else { throw RemoteWriteError("remote write endpoint \(name): maxBackoff is below minBackoff") }
        guard q.maxRetainedSegments >= 1 else { throw RemoteWriteError("remote write endpoint \(name): maxRetainedSegments must be at least 1") }
        for (k, v) in headers where k.isEmpty || k.contains(where: { $0 == ":" || $0 == "\r" || $0 == "\n" }) || v.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw RemoteWriteError("remote write endpoint \(name): invalid header \"\(k)\"")
        }
    }
}
