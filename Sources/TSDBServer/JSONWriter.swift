import TSDB

/// Writes JSON bytes exactly as Prometheus 2.42 does (jsoniter compatible with Go's
/// `encoding/json`): HTML characters escaped as `\u003c`, U+2028 and U+2029 escaped, other
/// control characters as `\u00XX` except `\n`, `\r` and `\t`.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string with Go's escaping.
    mutating func string(_ s: String) {
        bytes.append(0x22)
        var s = s
        s.withUTF8 { utf8 in
            let n = utf8.count
            var i = 0
            var start = 0
            while i < n {
                let b = utf8[i]
                if b < 0x80 {
                    // Safe bytes: printable ASCII except " \ < > &.
                    if b >= 0x20 && b != 0x22 && b != 0x5C && b != 0x3C && b != 0x3E && b != 0x26 {
                        i += 1
                        continue
                    }
                    if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                    switch b {
                    case 0x22: bytes.append(0x5C); bytes.append(0x22)
                    case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                    case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                    case 0x0D: bytes.append(0x5C); bytes.append(0x72)
                    case 0x09: bytes.append(0x5C); bytes.append(0x74)
                    default:
                        bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])
                        bytes.append(Self.hexDigits[Int(b >> 4)])
                        bytes.append(Self.hexDigits[Int(b & 0xF)])
                    }
                    i += 1
                    start = i
                    continue
                }
                // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
                if b == 0xE2, i + 2 < n, utf8[i + 1] == 0x80, utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9 {
                    if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                    bytes.append(contentsOf: [0x5C, 0x75, 0x32, 0x30, 0x32])
                    bytes.append(utf8[i + 2] == 0xA8 ? 0x38 : 0x39)
                    i += 3
                    start = i
                    continue
                }
                i += 1
            }
            if start < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<n])) }
        }
        bytes.append(0x22)
    }

    /// Writes at most `maxCount` bytes in place: `body` fills the memory it is given and
    /// returns how many bytes it wrote; they are appended at once.
    @inline(__always)
    mutating func write(maxCount: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxCount) { buffer in
            let start = buffer.baseAddress!
            bytes.append(contentsOf: UnsafeBufferPointer(start: start, count: body(start)))
        }
    }

    mutating func int(_ v: Int64) { write(maxCount: 20) { NumberText.write(v, to: $0) } }

    mutating func int(_ v: Int) { int(Int64(v)) }

    mutating func bool(_ v: Bool) { if v { raw("true") } else { raw("false") } }

    /// jsonutil.MarshalTimestamp: seconds, then `.` and three digits when not whole.
    mutating func timestamp(_ ms: Int64) {
        write(maxCount: NumberText.maxTimestampLength) { NumberText.timestamp(ms, to: $0) }
    }

    /// Go's `json.Marshal(float64(ms) / 1000)`, as Prometheus writes scalar and string times.
    mutating func floatSeconds(_ ms: Int64) {
        let v = Double(ms) / 1000
        write(maxCount: GoFloat.maxLength) { GoFloat.write(v, format: GoFloat.jsonFormat(v), to: $0) }
    }

    /// A sample value as a string, as jsonutil.MarshalValue writes it ('e' for tiny or huge).
    mutating func sampleValue(_ v: Double) {
        write(maxCount: GoFloat.maxLength + 2) { p in Self.quotedValue(v, to: p) }
    }

    /// A point of a vector or matrix, `[<timestamp>,"<value>"]`, in one append: the
    /// hot loop of every query answer.
    mutating func point(timestamp t: Int64, value v: Double) {
        write(maxCount: NumberText.maxTimestampLength + GoFloat.maxLength + 5) { p in
            p[0] = 0x5B
            var n = 1 + NumberText.timestamp(t, to: p + 1)
            p[n] = 0x2C
            n += 1
            n += Self.quotedValue(v, to: p + n)
            p[n] = 0x5D
            return n + 1
        }
    }

    @inline(__always)
    private static func quotedValue(_ v: Double, to p: UnsafeMutablePointer<UInt8>) -> Int {
        p[0] = 0x22
        let n = 1 + GoFloat.write(v, format: GoFloat.jsonFormat(v), to: p + 1)
        p[n] = 0x22
        return n + 1
    }

    /// `strconv.FormatFloat(v, 'f', -1, 64)` in quotes, as Prometheus writes a scalar's value.
    mutating func scalarValue(_ v: Double) {
        bytes.append(0x22)
        write(maxCount: GoFloat.maxLength) { GoFloat.write(v, format: .f, to: $0) }
        bytes.append(0x22)
    }

    /// A label set as `{"name":"value",...}` in label order (Go sorts map keys the same way).
    mutating func labels(_ labels: Labels) {
        bytes.append(0x7B)
        var first = true
        for l in labels {
            if !first { bytes.append(0x2C) }
            first = false
            string(l.name)
            bytes.append(0x3A)
            string(l.value)
        }
        bytes.append(0x7D)
    }

    mutating func stringArray(_ values: [String]) {
        bytes.append(0x5B)
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(0x2C) }
            string(v)
        }
        bytes.append(0x5D)
    }
}

/// Decimal integers and jsonutil timestamps, written into memory the caller provides.
enum NumberText {
    /// `-9223372036854775.808`, the longest timestamp.
    static let maxTimestampLength = 21

    /// The decimal digits of `v` (at most 20); returns how many were written.
    @inline(__always)
    static func write(_ v: UInt64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 1
        var rest = v
        while rest >= 10 { rest /= 10; count += 1 }
        var m = v
        var i = count
        repeat {
            i -= 1
            p[i] = UInt8(truncatingIfNeeded: 48 &+ m % 10)
            m /= 10
        } while i > 0
        return count
    }

    /// `v` with a leading `-` when negative; at most 20 bytes.
    @inline(__always)
    static func write(_ v: Int64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        guard v < 0 else { return write(UInt64(v), to: p) }
        p[0] = 0x2D
        return 1 + write(v.magnitude, to: p + 1)
    }

    /// jsonutil.MarshalTimestamp: seconds, then `.` and three digits when not whole.
    @inline(__always)
    static func timestamp(_ ms: Int64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        // Go negates the milliseconds, so the smallest one wraps; it prints as the largest.
        var t = ms
        if t < 0 {
            p[0] = 0x2D
            n = 1
            t = t == .min ? .max : -t
        }
        n += write(UInt64(t / 1000), to: p + n)
        let fraction = Int(t % 1000)
        if fraction != 0 {
            p[n] = 0x2E
            p[n + 1] = UInt8(truncatingIfNeeded: 48 + fraction / 100)
            p[n + 2] = UInt8(truncatingIfNeeded: 48 + fraction / 10 % 10)
            p[n + 3] = UInt8(truncatingIfNeeded: 48 + fraction % 10)
            n += 4
        }
        return n
    }
}

/// Go's `strconv.AppendFloat(buf, v, fmt, -1, 64)` for 'f' and 'e'.
enum GoFloat {
    enum Format { case f, e }

    /// The longest text `write` makes: 'f' of 5e-324 has 326 bytes.
    static let maxLength = 400

    /// The format Go's encoding/json (and jsonutil.MarshalValue) picks for a float64.
    @inline(__always)
    static func jsonFormat(_ v: Double) -> Format {
        let abs = Swift.abs(v)
        return abs != 0 && (abs < 1e-6 || abs >= 1e21) ? .e : .f
    }

    static func string(_ v: Double, format: Format = .f) -> String {
        var out: [UInt8] = []
        append(v, format: format, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func append(_ v: Double, format: Format, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxLength) { buffer in
            let n = write(v, format: format, to: buffer.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: n))
        }
    }

    /// Writes `v` into `p`, which has room for `maxLength` bytes; returns the length.
    static func write(_ v: Double, format: Format, to p: UnsafeMutablePointer<UInt8>) -> Int {
        if v.isNaN { p[0] = 0x4E; p[1] = 0x61; p[2] = 0x4E; return 3 }
        if v.isInfinite {
            p[0] = v < 0 ? 0x2D : 0x2B
            p[1] = 0x49; p[2] = 0x6E; p[3] = 0x66
            return 4
        }
        var n = 0
        if v.sign == .minus { p[0] = 0x2D; n = 1 }
        if v == 0 {
            guard format == .e else { p[n] = 0x30; return n + 1 }
            for (i, b) in "0e+00".utf8.enumerated() { p[n + i] = b }
            return n + 5
        }
        // Whole numbers below 2^53 print as integers in 'f'.
        let abs = Swift.abs(v)
        if format == .f, abs < 9_007_199_254_740_992, abs == abs.rounded(.towardZero) {
            return n + NumberText.write(UInt64(abs), to: p + n)
        }
        // Swift's description has the shortest round-trip digits, as Go's -1 precision does.
        // (libswiftCore's C entry point `swift_float64ToString` would write into our memory
        // directly, but in Swift 6.3 it drops the leading zeros of values below 1.)
        var text = abs.description
        return text.withUTF8 { digits in
            // Plain digits and a point (1e-4 ≤ |v| < 2^53): already Go's 'f'.
            if format == .f, !digits.contains(where: { $0 == 0x65 || $0 == 0x45 }) {
                (p + n).update(from: digits.baseAddress!, count: digits.count)
                return n + digits.count
            }
            return n + layout(digits, format: format, to: p + n)
        }
    }

    /// Lays out a shortest-digits text (`d.ddd`, `ddd.d` or `d.ddde±x`) in Go's 'f' or 'e'.
    private static func layout(_ utf8: UnsafeBufferPointer<UInt8>, format: Format, to res: UnsafeMutablePointer<UInt8>) -> Int {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
            var len = 0
            func put(_ b: UInt8) { res[len] = b; len += 1 }
            var count = 0
            var point = 0
            var sawPoint = false
            var exponent = 0
            var i = 0
            while i < utf8.count {
                let c = utf8[i]
                if c == 0x2E {
                    sawPoint = true
                } else if c == 0x65 || c == 0x45 {
                    var sign = 1
                    var j = i + 1
                    if j < utf8.count, utf8[j] == 0x2D { sign = -1; j += 1 } else if j < utf8.count, utf8[j] == 0x2B { j += 1 }
                    var e = 0
                    while j < utf8.count, utf8[j] >= 0x30, utf8[j] <= 0x39 { e = e * 10 + Int(utf8[j] - 0x30); j += 1 }
                    exponent = sign * e
                    break
                } else if c >= 0x30 && c <= 0x39 && count < 32 {
                    if !sawPoint { point += 1 }
                    digits[count] = c
                    count += 1
                }
                i += 1
            }
            point += exponent
            var first = 0
            while first < count - 1, digits[first] == 0x30 { first += 1; point -= 1 }
            var last = count
            while last > first + 1, digits[last - 1] == 0x30 { last -= 1 }
            let n = last - first
            switch format {
            case .f:
                if point <= 0 {
                    put(0x30)
                    put(0x2E)
                    for _ in 0..<(-point) { put(0x30) }
                    for k in first..<last { put(digits[k]) }
                } else if point >= n {
                    for k in first..<last { put(digits[k]) }
                    for _ in 0..<(point - n) { put(0x30) }
                } else {
                    for k in first..<(first + point) { put(digits[k]) }
                    put(0x2E)
                    for k in (first + point)..<last { put(digits[k]) }
                }
            case .e:
                put(digits[first])
                if n > 1 {
                    put(0x2E)
                    for k in (first + 1)..<last { put(digits[k]) }
                }
                let exp = point - 1
                put(0x65)
                put(exp < 0 ? 0x2D : 0x2B)
                let e = Swift.abs(exp)
                if e < 10 { put(0x30) }
                if e >= 100 { put(UInt8(48 + e / 100)) }
                if e >= 10 { put(UInt8(48 + e / 10 % 10)) }
                put(UInt8(48 + e % 10))
            }
            return len
        }
    }
}
