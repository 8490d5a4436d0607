import TSDB

/// The body of a remote-write or remote-read request or response: one protobuf message,
/// snappy block-compressed (not framed), as remote write 1.0 specifies.
public enum SnappyBody {
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        /// The block's header declares more decompressed bytes than the limit allows.
        case tooLarge(declared: Int, limit: Int)
        /// Not a valid snappy block.
        case malformed

        public var description: String {
            switch self {
            case .tooLarge(let declared, let limit):
                "snappy: decoded length \(declared) exceeds the limit of \(limit) bytes"
            case .malformed: "snappy: corrupt input"
            }
        }
    }

    /// Decompresses `body`, refusing before any allocation a block whose header declares
    /// more than `limit` bytes (a small body can claim gigabytes).
    public static func decode(_ body: [UInt8], limit: Int) throws(DecodeError) -> [UInt8] {
        let result: Result<[UInt8], DecodeError> = body.withUnsafeBytes { src in
            guard let declared = Snappy.declaredLength(src) else { return .failure(.malformed) }
            guard declared <= limit else { return .failure(.tooLarge(declared: declared, limit: limit)) }
            guard let out = Snappy.decompress(src) else { return .failure(.malformed) }
            return .success(out)
        }
        return try result.get()
    }

    /// Snappy block compression of an encoded message.
    public static func encode(_ message: [UInt8]) -> [UInt8] {
        Snappy.compress(message)
    }
}
