/// The remote-write receiver's and remote read's limits.
public struct RemoteConfiguration: Sendable {
    /// Serves `POST /api/v1/write`. On by default (Prometheus needs
    /// `--web.enable-remote-write-receiver`); `--web.disable-remote-write-receiver` turns it off.
    public var enableWriteReceiver = true
    /// The largest compressed remote-write body read, in bytes; more is answered 413.
    /// (Prometheus 2.42 reads any size.)
    public var maxWriteBodyBytes = 32 << 20
    /// The largest decompressed size a remote-write body may declare, checked before
    /// decompressing; more is answered 413.
    public var maxWriteDecodedBytes = 64 << 20
    /// The longest label name or value accepted by the receiver, in bytes; longer is a 400.
    /// (Prometheus 2.42 has no limit.)
    public var maxLabelBytes = 64 << 10
    /// How many series the receiver keeps by their encoded labels, to append them by
    /// reference (about 150 bytes each).
    public var seriesCacheCapacity = 1 << 20
    /// `--storage.remote.read-sample-limit`: most samples in one remote-read query; 0 for no limit.
    public var readSampleLimit = 50_000_000
    /// `--storage.remote.read-concurrent-limit`: remote reads served at once; the rest wait.
    public var readConcurrentLimit = 10
    /// The compressed remote-read request body read, as 2.42's `decodeReadLimit` (32 MiB).
    public var maxReadBodyBytes = 32 << 20

    public init() {}
}
