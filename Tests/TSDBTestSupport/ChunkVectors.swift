import Foundation

/// The XOR chunk vectors in Fixtures/chunks/xor-vectors.json, taken from blocks promtool wrote.
public struct ChunkVector: Sendable, CustomStringConvertible {
    public let labels: [String: String]
    public let bytes: [UInt8]
    public let minTime: Int64
    public let maxTime: Int64
    /// Timestamps and float64 bit patterns.
    public let samples: [(Int64, UInt64)]

    public var description: String { "\(labels["__name__"] ?? "?")[\(minTime)…\(maxTime), \(samples.count) samples]" }

    public static func load() throws -> (promtool: String, chunks: [ChunkVector]) {
        let path = Repository.path("Fixtures/chunks/xor-vectors.json")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let chunks = root["chunks"] as? [[String: Any]]
        else { throw CommandFailure(description: "\(path): unexpected layout") }
        let vectors = try chunks.map { c -> ChunkVector in
            guard let hex = c["hex"] as? String, let samples = c["samples"] as? [[Any]],
                  let labels = c["labels"] as? [String: String],
                  let minT = (c["minTime"] as? NSNumber)?.int64Value, let maxT = (c["maxTime"] as? NSNumber)?.int64Value
            else { throw CommandFailure(description: "\(path): malformed chunk entry") }
            return ChunkVector(
                labels: labels, bytes: Self.bytes(hex: hex), minTime: minT, maxTime: maxT,
                samples: samples.map { s in
                    ((s[0] as! NSNumber).int64Value, UInt64(s[1] as! String, radix: 16)!)
                })
        }
        return (root["promtool"] as? String ?? "?", vectors)
    }

    public static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            out.append(UInt8(hexDigit(hi) << 4 | hexDigit(lo)))
        }
        return out
    }

    private static func hexDigit(_ c: UInt8) -> Int {
        switch c {
        case 0x30...0x39: Int(c - 0x30)
        case 0x61...0x66: Int(c - 0x61 + 10)
        case 0x41...0x46: Int(c - 0x41 + 10)
        default: 0
        }
    }
}

public func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { b in
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }.joined()
}
