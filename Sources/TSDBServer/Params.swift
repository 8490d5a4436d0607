import PromQL
import TSDB

/// Request parameters as Go's `http.Request.ParseForm` collects them: the body's
/// form-urlencoded pairs first (for POST and PUT), then the URL query's.
public struct FormValues: Sendable {
    public private(set) var pairs: [(name: String, value: String)] = []
    /// The first error ParseForm would report; pairs that failed to decode are skipped.
    public private(set) var error: String?

    public init() {}

    /// Parses `a=1&b=2` as Go's `url.ParseQuery`: `+` is a space, `%XX` a byte; a pair with
    /// a bad escape or a `;` is dropped and the first such error kept.
    public mutating func parse(query: some Collection<UInt8>) {
        var start = query.startIndex
        while start < query.endIndex {
            var end = start
            while end < query.endIndex, query[end] != 0x26 { end = query.index(after: end) }
            let pair = query[start..<end]
            start = end < query.endIndex ? query.index(after: end) : end
            if pair.isEmpty { continue }
            if pair.contains(0x3B) {
                if error == nil { error = "invalid semicolon separator in query" }
                continue
            }
            var eq = pair.startIndex
            while eq < pair.endIndex, pair[eq] != 0x3D { eq = pair.index(after: eq) }
            let rawName = pair[pair.startIndex..<eq]
            let rawValue = eq < pair.endIndex ? pair[pair.index(after: eq)...] : pair[eq..<eq]
            switch (Self.unescape(rawName), Self.unescape(rawValue)) {
            case (.success(let n), .success(let v)): pairs.append((n, v))
            case (.failure(let e), _), (_, .failure(let e)):
                if error == nil { error = e.message }
            }
        }
    }

    public mutating func setError(_ message: String) {
        if error == nil { error = message }
    }

    struct EscapeError: Error { var message: String }

    static func unescape(_ s: some Collection<UInt8>) -> Result<String, EscapeError> {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == 0x25 {
                let h1 = s.index(after: i)
                let h2 = h1 < s.endIndex ? s.index(after: h1) : h1
                guard h2 < s.endIndex, let a = hexValue(s[h1]), let b = hexValue(s[h2]) else {
                    var bad: [UInt8] = []
                    var j = i
                    while j < s.endIndex, bad.count < 3 { bad.append(s[j]); j = s.index(after: j) }
                    return .failure(EscapeError(message: "invalid URL escape \(goQuote(String(decoding: bad, as: UTF8.self)))"))
                }
                out.append(a << 4 | b)
                i = s.index(after: h2)
            } else {
                out.append(c == 0x2B ? 0x20 : c)
                i = s.index(after: i)
            }
        }
        return .success(String(decoding: out, as: UTF8.self))
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    public mutating func append(_ name: String, _ value: String) { pairs.append((name, value)) }

    /// `r.FormValue(name)`: the first value, or "".
    public func first(_ name: String) -> String {
        for p in pairs where p.name == name { return p.value }
        return ""
    }

    /// `r.Form[name]`.
    public func all(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    public func has(_ name: String) -> Bool { pairs.contains { $0.name == name } }
}

/// A time as Go's `time.Time` holds it: seconds and nanoseconds in [0, 1e9).
struct GoTime: Sendable, Equatable {
    var seconds: Int64
    var nanoseconds: Int64

    init(seconds: Int64, nanoseconds: Int64) {
        // time.Unix normalises the nanoseconds into [0, 1e9).
        var s = seconds, n = nanoseconds
        if n < 0 || n >= 1_000_000_000 {
            let q = n >= 0 ? n / 1_000_000_000 : (n + 1) / 1_000_000_000 - 1
            s = s &+ q
            n -= q * 1_000_000_000
        }
        self.seconds = s
        self.nanoseconds = n
    }

    /// `timestamp.FromTime`: what the series, labels and admin APIs use.
    var milliseconds: Int64 { seconds &* 1000 &+ nanoseconds / 1_000_000 }
    /// `t.UnixNano() / 1e6`: what the PromQL engine uses (wraps outside 1678–2262 as Go does).
    var engineMilliseconds: Int64 { (seconds &* 1_000_000_000 &+ nanoseconds) / 1_000_000 }

    static func now() -> GoTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return GoTime(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }

    /// Prometheus's `minTime` and `maxTime`, the defaults of start and end.
    static let minTime = GoTime(seconds: Int64.min / 1000 + 62_135_596_801, nanoseconds: 0)
    static let maxTime = GoTime(seconds: Int64.max / 1000 - 62_135_596_801, nanoseconds: 999_999_999)
    static let minTimeFormatted = "-292273086-05-16T16:47:06Z"
    static let maxTimeFormatted = "292277025-08-18T07:12:54.999999999Z"
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum ParamError: Error {
    case message(String)
    var text: String { if case .message(let m) = self { return m }; return "" }
}

enum TimeParsing {
    /// Go's `strconv.ParseFloat(s, 64)`: nil where Go reports an error (out of range included).
    static func goParseFloat(_ s: String) -> Double? {
        guard !s.isEmpty else { return nil }
        let lower = s.lowercased()
        var body = Substring(lower)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        if body == "inf" || body == "infinity" { return s.hasPrefix("-") ? -.infinity : .infinity }
        if body == "nan" { return s.first == "+" || s.first == "-" ? nil : .nan }
        // Go wants a 'p' exponent in hex floats and reads no whitespace.
        if body.hasPrefix("0x") && !body.contains("p") { return nil }
        if s.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "_" }) { return nil }
        guard let v = Double(s), v.isFinite else { return nil }
        return v
    }

    /// Go's float-to-int64 conversion on amd64: out of range and NaN become Int64.min.
    static func goInt64(_ v: Double) -> Int64 {
        if v.isNaN || v >= 9_223_372_036_854_775_808.0 || v < -9_223_372_036_854_775_808.0 { return .min }
        return Int64(v)
    }

    /// The API's `parseTime`: Unix seconds with a fraction, or RFC 3339.
    static func parseTime(_ s: String) throws(ParamError) -> GoTime {
        if let t = goParseFloat(s) {
            let whole = t.rounded(.towardZero)
            var frac = t - whole
            if t.isInfinite { frac = .nan }
            // math.Round: half away from zero.
            frac = (frac * 1000).rounded(.toNearestOrAwayFromZero) / 1000
            return GoTime(seconds: goInt64(whole), nanoseconds: goInt64(frac * 1e9))
        }
        if let t = parseRFC3339(s) { return t }
        if s == GoTime.minTimeFormatted { return .minTime }
        if s == GoTime.maxTimeFormatted { return .maxTime }
        throw .message("cannot parse \(goQuote(s)) to a valid timestamp")
    }

    /// `parseTimeParam`: the default for an empty value, and Prometheus's wrapping.
    static func parseTimeParam(_ form: FormValues, _ name: String, default def: GoTime) throws(ParamError) -> GoTime {
        let v = form.first(name)
        if v.isEmpty { return def }
        do { return try parseTime(v) } catch {
            throw .message("Invalid time value for '\(name)': \(error.text)")
        }
    }

    /// The API's `parseDuration`, in nanoseconds: float seconds or a Prometheus duration.
    static func parseDuration(_ s: String) throws(ParamError) -> Int64 {
        if let d = goParseFloat(s) {
            let ns = d * 1e9
            if ns > 9_223_372_036_854_775_807.0 || ns < -9_223_372_036_854_775_808.0 {
                throw .message("cannot parse \(goQuote(s)) to a valid duration. It overflows int64")
            }
            return goInt64(ns)
        }
        if let ms = try? PromQLDuration.parse(s) {
            let (ns, overflow) = ms.multipliedReportingOverflow(by: 1_000_000)
            return overflow ? .max : ns
        }
        throw .message("cannot parse \(goQuote(s)) to a valid duration")
    }

    /// `time.Parse(time.RFC3339Nano, s)`: `2006-01-02T15:04:05.999999999Z07:00`.
    static func parseRFC3339(_ s: String) -> GoTime? {
        let b = Array(s.utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2),
              expect(0x54), let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A),
              let second = digits(2) else { return nil }
        guard (1...12).contains(month), hour < 24, minute < 60, second < 60 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day >= 1, day <= monthDays[Int(month - 1)] else { return nil }
        var nanos: Int64 = 0
        if i + 1 < b.count, b[i] == 0x2E || b[i] == 0x2C, b[i + 1] >= 0x30, b[i + 1] <= 0x39 {
            i += 1
            var n = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39, n < 9 {
                nanos = nanos * 10 + Int64(b[i] - 0x30)
                n += 1
                i += 1
            }
            while n < 9 { nanos *= 10; n += 1 }
        }
        var offset: Int64 = 0
        guard i < b.count else { return nil }
        if b[i] == 0x5A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            let negative = b[i] == 0x2D
            i += 1
            guard let oh = digits(2), expect(0x3A), let om = digits(2), oh < 24, om < 60 else { return nil }
            offset = (oh * 3600 + om * 60) * (negative ? -1 : 1)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return GoTime(seconds: secs, nanoseconds: nanos)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// RFC 3339 with nanoseconds as Go's `time.Time` marshals to JSON (UTC, trailing zeros cut).
    static func formatRFC3339(_ t: GoTime) -> String {
        let days = t.seconds >= 0 ? t.seconds / 86_400 : (t.seconds + 1) / 86_400 - 1
        let rem = t.seconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: Swift.max(0, n - s.count)) + s
        }
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem / 60 % 60, 2)):\(pad(rem % 60, 2))"
        if t.nanoseconds != 0 {
            var frac = pad(t.nanoseconds, 9)
            while frac.hasSuffix("0") { frac.removeLast() }
            out += "." + frac
        }
        return out + "Z"
    }
}
