/// The timestamps the engine stores: milliseconds in [-2⁶², 2⁶² - 1], about ±146 million
/// years around 1970.
///
/// Every arithmetic on timestamps (chunk and block range ends, `maxTime + 1`, a timestamp
/// minus a retention or a lookback) then stays inside `Int64` without checks, because the
/// durations it adds are bounded the same way (``Options`` validates them). The appender
/// rejects a timestamp outside with ``TSDBError/Code/timestampOutOfRange``; replay drops
/// samples and head chunks outside (they can only come from damaged or foreign files).
/// The sentinels `.min` and `.max` that mean "no sample" therefore never collide with a
/// stored timestamp.
package enum TimestampDomain {
    static let min: Int64 = -(1 << 62)
    static let max: Int64 = (1 << 62) - 1
    static let range: ClosedRange<Int64> = min...max

    /// Whether `t` is a storable timestamp; one comparison.
    @inline(__always)
    package static func contains(_ t: Int64) -> Bool {
        UInt64(bitPattern: t &- min) <= UInt64(bitPattern: max &- min)
    }

    /// The largest retention or skew an option may hold, so that a timestamp minus it
    /// stays inside `Int64`.
    static let maxDuration: Int64 = 1 << 62
    /// The widest block an option may ask for: a timestamp plus it, or an aligned block
    /// start minus it, stays inside `Int64`.
    static let maxBlockDuration: Int64 = 1 << 61
    /// The latest end (exclusive) of a block: the range boundary after ``max`` for the widest
    /// block. A `meta.json` beyond it is refused as corruption.
    static let maxBlockEnd: Int64 = max + maxBlockDuration
}

/// The timestamps `lower...upper` (both inside ``TimestampDomain``), tested with one
/// unsigned comparison: the appender's and the replay's per-sample bounds check.
struct TimestampWindow: Sendable {
    let lower: Int64
    let upper: Int64
    private let span: UInt64
    private let isEmpty: Bool

    /// `lower` and `upper` are clamped to ``TimestampDomain``; a window whose upper end is
    /// below its lower end contains nothing.
    init(lower: Int64, upper: Int64 = TimestampDomain.max) {
        let lo = Swift.max(lower, TimestampDomain.min)
        let hi = Swift.min(upper, TimestampDomain.max)
        self.lower = lo
        self.upper = hi
        self.isEmpty = hi < lo
        self.span = hi >= lo ? UInt64(bitPattern: hi &- lo) : 0
    }

    /// Whether `lower <= t <= upper`: `t - lower` wraps to a huge value below `lower`.
    @inline(__always)
    func contains(_ t: Int64) -> Bool {
        UInt64(bitPattern: t &- lower) <= span && !isEmpty
    }
}
