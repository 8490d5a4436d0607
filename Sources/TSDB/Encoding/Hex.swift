/// Hexadecimal digits, as the engine writes them in messages and Go-style escapes and reads
/// them in selectors and JSON: the one formatter and the one parser.
enum Hex {
    /// `value` in lowercase hex digits, zero-padded on the left to at least `width` digits.
    static func string<T: BinaryInteger>(_ value: T, width: Int = 0) -> String {
        let digits = String(value, radix: 16)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// The value of one hex digit, either case; nil if `byte` is not one.
    @inline(__always)
    static func digit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The value of 1 to 8 hex digits, either case; nil if there are none, more than 8,
    /// or one is not a hex digit.
    static func value<Digits: Sequence<UInt8>>(of digits: Digits) -> UInt32? {
        var v: UInt32 = 0
        var n = 0
        for byte in digits {
            guard n < 8, let d = digit(byte) else { return nil }
            v = v << 4 | UInt32(d)
            n += 1
        }
        return n > 0 ? v : nil
    }
}
