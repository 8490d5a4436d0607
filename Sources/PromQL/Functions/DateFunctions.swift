/// The date functions' calendar: Go's `time` package (as of Go 1.20, which Prometheus 2.42 was
/// built with) for `time.Unix(int64(v), 0).UTC()`, reproduced with its wrapping arithmetic, so
/// that any float gives Go's answer and none traps.
enum GoTime {
    private static let secondsPerMinute: UInt64 = 60
    private static let secondsPerHour: UInt64 = 3600
    private static let secondsPerDay: UInt64 = 86400
    private static let secondsPerWeek: UInt64 = 7 * 86400
    private static let daysPer400Years: UInt64 = 365 * 400 + 97
    private static let daysPer100Years: UInt64 = 365 * 100 + 24
    private static let daysPer4Years: UInt64 = 365 * 4 + 1

    /// The year of Go's absolute time zero.
    private static let absoluteZeroYear: Int64 = -292_277_022_399
    /// Go's `unixToInternal + internalToAbsolute`: add to Unix seconds for absolute seconds.
    private static let unixToAbsolute: Int64 = 62_135_596_800 + 9_223_371_966_548_124_648

    /// Days before each month of a non-leap year, and the year's length at the end.
    private static let daysBefore: [Int] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]

    /// Go's float64 → int64 conversion as amd64 does it: truncation toward zero, and the
    /// "integer indefinite" value (the minimum int64) for NaN, infinities and anything out of range.
    static func int64(_ v: Double) -> Int64 {
        guard v.isFinite, v >= -9_223_372_036_854_775_808.0, v < 9_223_372_036_854_775_808.0 else { return .min }
        return Int64(v)
    }

    /// Go's `Time.abs()` in UTC: seconds since the absolute zero, wrapping like Go.
    static func absolute(unixSeconds: Int64) -> UInt64 {
        UInt64(bitPattern: unixSeconds &+ unixToAbsolute)
    }

    struct Civil {
        var year: Int64
        var month: Int
        var day: Int
        /// Zero-based day of the year.
        var yday: Int
    }

    static func isLeap(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Go's `absDate`.
    static func civil(absolute abs: UInt64) -> Civil {
        var d = abs / secondsPerDay

        // 400-year cycles.
        var n = d / daysPer400Years
        var y = 400 &* n
        d -= daysPer400Years &* n

        // 100-year cycles; the last one has an extra leap day, which would make n 4 on its last day.
        n = d / daysPer100Years
        n -= n >> 2
        y &+= 100 &* n
        d -= daysPer100Years &* n

        // 4-year cycles.
        n = d / daysPer4Years
        y &+= 4 &* n
        d -= daysPer4Years &* n

        // Years within a 4-year cycle; the last one is a leap year.
        n = d / 365
        n -= n >> 2
        y &+= n
        d -= 365 &* n

        let year = Int64(bitPattern: y) &+ absoluteZeroYear
        let yday = Int(truncatingIfNeeded: d)
        var day = yday
        if isLeap(year) {
            if day > 31 + 29 - 1 {
                // After the leap day: pretend it wasn't there.
                day -= 1
            } else if day == 31 + 29 - 1 {
                return Civil(year: year, month: 2, day: 29, yday: yday)
            }
        }
        // Estimate the month assuming 31-day months; the estimate is at most one too low.
        var month = day / 31
        let end = daysBefore[min(month + 1, 12)]
        let begin: Int
        if day >= end {
            month += 1
            begin = end
        } else {
            begin = daysBefore[min(month, 12)]
        }
        return Civil(year: year, month: month + 1, day: day - begin + 1, yday: yday)
    }

    /// Go's `daysSinceEpoch`: days from the absolute zero to the first of January of `year`.
    static func daysSinceEpoch(_ year: Int64) -> UInt64 {
        var y = UInt64(bitPattern: year &- absoluteZeroYear)
        var n = y / 400
        y -= 400 &* n
        var d = daysPer400Years &* n
        n = y / 100
        y -= 100 &* n
        d &+= daysPer100Years &* n
        n = y / 4
        y -= 4 &* n
        d &+= daysPer4Years &* n
        d &+= 365 &* y
        return d
    }

    /// `32 - time.Date(year, month, 32, 0, 0, 0, 0, time.UTC).Day()`.
    static func daysInMonth(_ c: Civil) -> Int {
        let month = max(1, min(c.month, 12))
        var d = daysSinceEpoch(c.year)
        d &+= UInt64(daysBefore[month - 1])
        if isLeap(c.year) && month >= 3 { d &+= 1 }
        d &+= 31  // day 32, minus one
        return 32 - civil(absolute: d &* secondsPerDay).day
    }

    static func weekday(absolute abs: UInt64) -> Int {
        // Go's absolute zero is a Monday.
        Int((abs &+ secondsPerDay) % secondsPerWeek / secondsPerDay)
    }

    static func hour(absolute abs: UInt64) -> Int { Int(abs % secondsPerDay / secondsPerHour) }

    static func minute(absolute abs: UInt64) -> Int { Int(abs % secondsPerHour / secondsPerMinute) }
}

extension InstantFunctions {
    /// day_of_month, day_of_week, day_of_year, days_in_month, hour, minute, month, year, of
    /// seconds since the epoch (UTC).
    static func date(_ name: String) -> (@Sendable (Double) -> Double)? {
        @Sendable func abs(_ v: Double) -> UInt64 { GoTime.absolute(unixSeconds: GoTime.int64(v)) }
        switch name {
        case "day_of_month": return { Double(GoTime.civil(absolute: abs($0)).day) }
        case "day_of_week": return { Double(GoTime.weekday(absolute: abs($0))) }
        case "day_of_year": return { Double(GoTime.civil(absolute: abs($0)).yday + 1) }
        case "days_in_month": return { Double(GoTime.daysInMonth(GoTime.civil(absolute: abs($0)))) }
        case "hour": return { Double(GoTime.hour(absolute: abs($0))) }
        case "minute": return { Double(GoTime.minute(absolute: abs($0))) }
        case "month": return { Double(GoTime.civil(absolute: abs($0)).month) }
        case "year": return { Double(GoTime.civil(absolute: abs($0)).year) }
        default: return nil
        }
    }
}
