@_spi(Chunks) import TSDB

/// SplitMix64: a seeded generator, so every run encodes the same values.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Fixtures {
    /// Samples in one chunk: Prometheus's target, 1 h of scrapes 30 s apart.
    static let samplesPerChunk = 120
    static let scrapeInterval: Int64 = 30_000
    static let startTime: Int64 = 1_700_000_000_000

    /// A request counter scraped exactly every 30 s: an integer growing by 0–39 per scrape,
    /// as `http_requests_total` does. The most common kind of series in Prometheus.
    static let counterSamples: [Sample] = {
        var rng = SplitMix64(seed: 1)
        var value = 1_234_567.0
        return (0..<samplesPerChunk).map { i in
            value += Double(rng.next() % 40)
            return Sample(timestamp: startTime + Int64(i) * scrapeInterval, value: value)
        }
    }()

    /// A CPU-seconds counter scraped exactly every 30 s: grows by 27–30 per scrape, with two
    /// decimals, as `node_cpu_seconds_total` does. Non-integer floats fill most mantissa bits.
    static let cpuSecondsSamples: [Sample] = {
        var rng = SplitMix64(seed: 3)
        var value = 184_467.41
        return (0..<samplesPerChunk).map { i in
            value += Double(2_700 + Int(rng.next() % 300)) / 100
            return Sample(timestamp: startTime + Int64(i) * scrapeInterval, value: value)
        }
    }()

    /// Worst case for XOR: uniformly random floats, and timestamps jittered by up to ±50 ms
    /// so the delta-of-delta never takes the one-bit path.
    static let randomSamples: [Sample] = {
        var rng = SplitMix64(seed: 2)
        return (0..<samplesPerChunk).map { i in
            let jitter = Int64(rng.next() % 101) - 50
            let value = Double.random(in: -1e6...1e6, using: &rng)
            return Sample(timestamp: startTime + Int64(i) * scrapeInterval + jitter, value: value)
        }
    }()

    /// The three value shapes the chunk benchmarks run on, best case first.
    static let chunkVariants: [(name: String, samples: [Sample])] = [
        ("counter", counterSamples), ("cpu-seconds", cpuSecondsSamples), ("random", randomSamples),
    ]
}
