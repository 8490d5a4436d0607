import Foundation
import TSDB

/// A small, fast, seedable generator (SplitMix64) so property tests can print and replay
/// the seed of a failing case.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// A generator seeded from the TSDB_TEST_SEED environment variable, or at random.
    public static func fromEnvironment() -> SeededRandom {
        if let s = ProcessInfoShim.environment("TSDB_TEST_SEED"), let v = UInt64(s) { return SeededRandom(seed: v) }
        return SeededRandom(seed: UInt64.random(in: 0...UInt64.max))
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}


enum ProcessInfoShim {
    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}

/// Float values worth testing encoders with: specials, extremes (the largest subnormal
/// among them) and ordinary numbers.
public enum InterestingValues {
    public static let staleNaN = Double(bitPattern: 0x7ff0_0000_0000_0002)
    public static let all: [Double] = [
        0, -0.0, 1, -1, 0.1, 123_456_789, .infinity, -.infinity, .nan, staleNaN,
        Double(bitPattern: 0x7ff8_0000_0000_0001), .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
        .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        Double(bitPattern: 0x000f_ffff_ffff_ffff), 1e300, 1e-300, 42, 3.141592653589793,
    ]

    public static func random(using rng: inout SeededRandom) -> Double {
        switch rng.next() % 6 {
        case 0: return all[Int(rng.next() % UInt64(all.count))]
        case 1: return Double(bitPattern: rng.next())
        case 2: return Double(Int64(rng.next() % 1000))
        case 3: return Double(rng.next() % 1_000_000) / 1000
        default: return Double.random(in: -1e6...1e6, using: &rng)
        }
    }
}

/// A random label set for property tests: a metric name from a small set, then each of
/// `names` (after the first, which is `__name__`) with probability ½ and a value from `values`.
public func randomLabels(names: [String], values: [String], using rng: inout SeededRandom) -> Labels {
    var pairs: [(String, String)] = [("__name__", ["up", "http_requests_total", "node_load1"][Int(rng.next() % 3)])]
    for n in names.dropFirst() where rng.next() % 2 == 0 {
        pairs.append((n, values[Int(rng.next() % UInt64(values.count))]))
    }
    return try! Labels(pairs)
}
