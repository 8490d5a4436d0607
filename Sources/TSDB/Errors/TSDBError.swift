/// The one error type of the engine: a stable ``Code``, a human message, an optional
/// underlying cause and, for corruption, where in which file the damage is.
///
/// `Code` wraps a private enum so that new codes can be added without breaking callers
/// that switch over it.
public struct TSDBError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidArgument, invalidLabels, invalidMatcher, invalidSelector
            case outOfOrderSample, duplicateSampleForTimestamp, outOfBounds
            case unknownSeriesRef, closed, corruption, io, unsupported, notFound
            case readOnly, locked, tooFarInFuture, timestampOutOfRange
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// An argument had a value the call cannot accept.
        public static let invalidArgument = Code(.invalidArgument)
        /// A label set broke a rule: empty, a duplicate or invalid name, invalid UTF-8.
        public static let invalidLabels = Code(.invalidLabels)
        /// A matcher could not be built, typically a regex that does not compile.
        public static let invalidMatcher = Code(.invalidMatcher)
        /// A selector string did not parse; the location names the column.
        public static let invalidSelector = Code(.invalidSelector)
        /// A sample's timestamp is older than the series' newest sample.
        public static let outOfOrderSample = Code(.outOfOrderSample)
        /// A sample repeats the newest timestamp of its series with a different value.
        public static let duplicateSampleForTimestamp = Code(.duplicateSampleForTimestamp)
        /// A sample's timestamp is below the head's minimum valid time.
        public static let outOfBounds = Code(.outOfBounds)
        /// A sample's timestamp is later than the wall clock plus ``Options/maxFutureSkew``.
        public static let tooFarInFuture = Code(.tooFarInFuture)
        /// A timestamp lies outside the range the engine stores, -2⁶² to 2⁶² - 1 ms
        /// (``DB/storableTimestamps``).
        public static let timestampOutOfRange = Code(.timestampOutOfRange)
        /// A series reference does not name a series in the head.
        public static let unknownSeriesRef = Code(.unknownSeriesRef)
        /// The database has been closed.
        public static let closed = Code(.closed)
        /// Bytes read from disk or memory do not have the expected form.
        public static let corruption = Code(.corruption)
        /// A system call failed; `cause` holds the errno.
        public static let io = Code(.io)
        /// The data uses a feature this engine does not implement.
        public static let unsupported = Code(.unsupported)
        /// A file or directory does not exist.
        public static let notFound = Code(.notFound)
        /// The database was opened read-only and the call would write.
        public static let readOnly = Code(.readOnly)
        /// Another process (or another `DB` in this one) holds the data directory's lock.
        public static let locked = Code(.locked)

        public var description: String { String(describing: value) }
    }

    /// Where an error happened: a file and a byte offset in it, or a column in a string.
    public struct Location: Hashable, Sendable, CustomStringConvertible {
        public var file: String?
        public var offset: Int?
        public init(file: String? = nil, offset: Int? = nil) {
            self.file = file
            self.offset = offset
        }
        public var description: String {
            switch (file, offset) {
            case let (f?, o?): return "\(f) at offset \(o)"
            case let (f?, nil): return f
            case let (nil, o?): return "offset \(o)"
            case (nil, nil): return "unknown location"
            }
        }
    }

    public var code: Code
    public var message: String
    public var location: Location?
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, location: Location? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.cause = cause
    }

    public var description: String {
        var s = "\(code): \(message)"
        if let location { s += " (\(location))" }
        if let cause { s += ": \(cause)" }
        return s
    }

    /// Corruption found in `file` at `offset`: `expected` says what should have been there.
    package static func corruption(_ expected: String, file: String? = nil, offset: Int? = nil) -> TSDBError {
        TSDBError(.corruption, expected, location: Location(file: file, offset: offset))
    }
}
