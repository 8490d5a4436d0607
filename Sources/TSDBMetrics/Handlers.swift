import CoreMetrics
import Synchronization
import TSDB

/// What the sampler reads from every live handler: its series and their current values.
protocol SampledMetric: AnyObject, Sendable {
    /// Every series this metric stores, in the order ``values()`` reports them.
    var series: [Labels] { get }
    /// The current value of each of ``series``. Safe to call while other threads record.
    func values() -> [Double]
}

/// A counter (integer and floating point): one `<name>_total` series.
///
/// The hot path is one relaxed atomic add for integer increments, and a compare-and-swap
/// loop on the value's bits for floating-point ones; no lock is taken.
final class CounterMetric: SampledMetric, CounterHandler, FloatingPointCounterHandler {
    let series: [Labels]
    private let integer = Atomic<Int64>(0)
    private let floatingBits = Atomic<UInt64>(Double.zero.bitPattern)

    /// `series` is empty for a handler that is not sampled (see ``TSDBMetricsFactory``).
    init(series: [Labels]) { self.series = series }

    func increment(by amount: Int64) {
        // swift-metrics asks for non-negative amounts; a negative one is ignored, not trapped on.
        guard amount > 0 else { return }
        integer.wrappingAdd(amount, ordering: .relaxed)
    }

    func increment(by amount: Double) {
        guard amount > 0 else { return }  // also ignores NaN
        var bits = floatingBits.load(ordering: .relaxed)
        while true {
            let desired = (Double(bitPattern: bits) + amount).bitPattern
            let (exchanged, original) = floatingBits.weakCompareExchange(
                expected: bits, desired: desired, ordering: .relaxed)
            if exchanged { return }
            bits = original
        }
    }

    func reset() {
        integer.store(0, ordering: .relaxed)
        floatingBits.store(Double.zero.bitPattern, ordering: .relaxed)
    }

    var value: Double {
        Double(integer.load(ordering: .relaxed)) + Double(bitPattern: floatingBits.load(ordering: .relaxed))
    }

    func values() -> [Double] { [value] }
}

/// A gauge: meters and non-aggregating recorders. One series holding the last value set.
final class GaugeMetric: SampledMetric, MeterHandler, RecorderHandler {
    let series: [Labels]
    private let bits = Atomic<UInt64>(Double.zero.bitPattern)

    init(series: [Labels]) { self.series = series }

    func set(_ value: Int64) { set(Double(value)) }
    func set(_ value: Double) { bits.store(value.bitPattern, ordering: .relaxed) }
    func record(_ value: Int64) { set(Double(value)) }
    func record(_ value: Double) { set(value) }
    func decrement(by amount: Double) { increment(by: -amount) }

    func increment(by amount: Double) {
        var current = bits.load(ordering: .relaxed)
        while true {
            let desired = (Double(bitPattern: current) + amount).bitPattern
            let (exchanged, original) = bits.weakCompareExchange(expected: current, desired: desired, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }

    func values() -> [Double] { [value] }
}

/// A classic Prometheus histogram: `<name>_bucket{le=...}` for each upper bound and `+Inf`
/// (cumulative), `<name>_sum` and `<name>_count`.
///
/// Each observation takes this histogram's own lock (no lock shared with other metrics)
/// for a binary search and three additions.
final class HistogramMetric<Value: HistogramValue>: SampledMetric {
    let series: [Labels]
    /// Upper bounds, ascending, finite and distinct; `+Inf` is implicit.
    private let bounds: [Value]
    private let state: Mutex<State>

    struct State {
        /// Observations per bucket (not cumulative); the last slot is `+Inf`.
        var counts: [UInt64]
        var sum: Value.Sum
        var count: UInt64
    }

    /// `series` is the buckets' series (one per bound, then `+Inf`), then `_sum`, then `_count`.
    init(bounds: [Value], series: [Labels]) {
        self.bounds = bounds
        self.series = series
        self.state = Mutex(State(counts: Array(repeating: 0, count: bounds.count + 1), sum: Value.zeroSum, count: 0))
    }

    func observe(_ value: Value) {
        // The first bound ≥ value; an unordered value (NaN) goes to +Inf, as in client_golang.
        var lo = 0
        var hi = bounds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bounds[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        let bucket = value.isUnordered ? bounds.count : lo
        state.withLock { s in
            s.counts[bucket] &+= 1
            s.sum = Value.add(value, to: s.sum)
            s.count &+= 1
        }
    }

    func values() -> [Double] {
        let s = state.withLock { $0 }
        var out: [Double] = []
        out.reserveCapacity(s.counts.count + 2)
        var cumulative: UInt64 = 0
        for c in s.counts {
            cumulative &+= c
            out.append(Double(cumulative))
        }
        out.append(Value.seconds(s.sum))
        out.append(Double(s.count))
        return out
    }
}

/// What a histogram observes: nanoseconds for timers, values for recorders.
protocol HistogramValue: Comparable, Sendable {
    associatedtype Sum: Sendable
    static var zeroSum: Sum { get }
    static func add(_ value: Self, to sum: Sum) -> Sum
    /// The stored `_sum`: seconds for timers, the value itself for recorders.
    static func seconds(_ sum: Sum) -> Double
    var isUnordered: Bool { get }
}

extension Int64: HistogramValue {
    // Nanoseconds summed exactly; 128 bits do not overflow in any realistic lifetime.
    static var zeroSum: Int128 { 0 }
    static func add(_ value: Int64, to sum: Int128) -> Int128 { sum &+ Int128(value) }
    static func seconds(_ sum: Int128) -> Double { Double(sum) / 1e9 }
    var isUnordered: Bool { false }
}

extension Double: HistogramValue {
    static var zeroSum: Double { 0 }
    static func add(_ value: Double, to sum: Double) -> Double { sum + value }
    static func seconds(_ sum: Double) -> Double { sum }
    var isUnordered: Bool { isNaN }
}

/// A timer: a histogram of nanoseconds whose bounds and sum are stored in seconds.
final class TimerMetric: TimerHandler, SampledMetric {
    let histogram: HistogramMetric<Int64>
    init(histogram: HistogramMetric<Int64>) { self.histogram = histogram }
    var series: [Labels] { histogram.series }
    func values() -> [Double] { histogram.values() }
    func recordNanoseconds(_ duration: Int64) { histogram.observe(duration) }
}

/// An aggregating recorder: a histogram of its values.
final class RecorderMetric: RecorderHandler, SampledMetric {
    let histogram: HistogramMetric<Double>
    init(histogram: HistogramMetric<Double>) { self.histogram = histogram }
    var series: [Labels] { histogram.series }
    func values() -> [Double] { histogram.values() }
    func record(_ value: Int64) { histogram.observe(Double(value)) }
    func record(_ value: Double) { histogram.observe(value) }
}
