/// The encoding byte stored with every chunk, as Prometheus numbers them.
public struct ChunkEncoding: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let none = ChunkEncoding(rawValue: 0)
    /// Gorilla-style XOR float chunk (``XORChunk``).
    public static let xor = ChunkEncoding(rawValue: 1)
    /// Native histograms; recognised, not decoded by this engine yet.
    public static let histogram = ChunkEncoding(rawValue: 2)
    public static let floatHistogram = ChunkEncoding(rawValue: 3)

    public var description: String {
        switch rawValue {
        case 0: "none"
        case 1: "XOR"
        case 2: "histogram"
        case 3: "floathistogram"
        default: "<unknown \(rawValue)>"
        }
    }
}

/// One sample: a millisecond timestamp and a float value (NaN payloads kept bit for bit).
public struct Sample: Sendable, Equatable, CustomStringConvertible {
    public var timestamp: Int64
    public var value: Double

    public init(timestamp: Int64, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }

    /// Bit-exact equality, so NaN equals the same NaN and -0.0 differs from 0.0.
    public static func == (a: Sample, b: Sample) -> Bool {
        a.timestamp == b.timestamp && a.value.bitPattern == b.value.bitPattern
    }

    public var description: String { "\(value) @\(timestamp)" }
}
