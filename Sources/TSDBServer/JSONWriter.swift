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

    mutating func int(_ v: Int64) {
        if v == 0 { bytes.append(0x30); return }
        var m = v.magnitude
        if v < 0 { bytes.append(0x2D) }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            while m > 0 {
                buf[19 - count] = UInt8(48 + m % 10)
                m /= 10
                count += 1
            }
            bytes.append(contentsOf: buf[(20 - count)...])
        }
    }

    mutating func int(_ v: Int) { int(Int64(v)) }

    mutating func bool(_ v: Bool) { if v { raw("true") } else { raw("false") } }

    /// jsonutil.MarshalTimestamp: seconds, then `.` and three digits when not whole.
    mutating func timestamp(_ ms: Int64) {
        var t = ms
        if t < 0 {
            bytes.append(0x2D)
            t = t == .min ? .max : -t
        }
        int(t / 1000)
        let fraction = t % 1000
        if fraction != 0 {
            bytes.append(0x2E)
            if fraction < 100 { bytes.append(0x30) }
            if fraction < 10 { bytes.append(0x30) }
            int(fraction)
        }
    }

    /// Go's `json.Marshal(float64(ms) / 1000)`, as Prometheus writes scalar and string times.
    mutating func floatSeconds(_ ms: Int64) {
        let v = Double(ms) / 1000
        let abs = Swift.abs(v)
        GoFloat.append(v, format: abs != 0 && (abs < 1e-6 || abs >= 1e21) ? .e : .f, to: &bytes)
    }

    /// A sample value as a string, as jsonutil.MarshalValue writes it ('e' for tiny or huge).
    mutating func sampleValue(_ v: Double) {
        bytes.append(0x22)
        let abs = Swift.abs(v)
        GoFloat.append(v, format: abs != 0 && (abs < 1e-6 || abs >= 1e21) ? .e : .f, to: &bytes)
        bytes.append(0x22)
    }

    /// `strconv.FormatFloat(v, 'f', -1, 64)` in quotes, as Prometheus writes a scalar's value.
    mutating func scalarValue(_ v: Double) {
        bytes.append(0x22)
        GoFloat.append(v, format: .f, to: &bytes)
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

/// Go's `strconv.AppendFloat(buf, v, fmt, -1, 64)` for 'f' and 'e'.
enum GoFloat {
    enum Format { case f, e }

    static func appendInt(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(0x2D) }
        var m = v.magnitude
        if m == 0 { out.append(0x30); return }
        var divisor: UInt64 = 1
        while divisor <= m / 10 { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(48 + m / divisor))
            m %= divisor
            divisor /= 10
        }
    }

    static func string(_ v: Double, format: Format = .f) -> String {
        var out: [UInt8] = []
        append(v, format: format, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func append(_ v: Double, format: Format, to out: inout [UInt8]) {
        if v.isNaN { out.append(contentsOf: [0x4E, 0x61, 0x4E]); return }
        if v.isInfinite {
            out.append(v < 0 ? 0x2D : 0x2B)
            out.append(contentsOf: [0x49, 0x6E, 0x66])
            return
        }
        if v == 0 {
            if v.sign == .minus { out.append(0x2D) }
            if format == .e { out.append(contentsOf: Array("0e+00".utf8)) } else { out.append(0x30) }
            return
        }
        // Whole numbers below 2^53 print as integers in 'f'.
        if format == .f, Swift.abs(v) < 9_007_199_254_740_992, v == v.rounded(.towardZero) {
            appendInt(Int64(v), to: &out)
            return
        }
        // Swift's description has the shortest round-trip digits, as Go's -1 precision does.
        // Short descriptions are stored inline, so this allocates nothing on the heap.
        var text = Swift.abs(v).description
        if v < 0 { out.append(0x2D) }
        text.withUTF8 { utf8 in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
              withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 400) { res in
                // The number is laid out here, then appended at once.
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
                out.append(contentsOf: UnsafeBufferPointer(rebasing: res[0..<len]))
              }
            }
        }
    }
}
