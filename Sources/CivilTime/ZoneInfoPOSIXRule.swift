#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation  // Platforms without the split Foundation (macOS): same `Date`.
#endif

/// A POSIX TZ rule string such as `CET-1CEST,M3.5.0,M10.5.0/3`, as found in the footer of
/// a TZif file (RFC 8536 §3.3), with the RFC's extensions: transition hours from −167 to 167,
/// quoted names (`<+0330>`), DST all year, DST with a negative save (`IST-1GMT0,…`).
///
/// Offsets in the string count hours **west** of Greenwich (`CET-1` is UTC+1); the stored
/// offsets are seconds **east** of UTC, like `secondsFromGMT`.
struct ZoneInfoPOSIXRule: Sendable, Hashable {
    /// One side of the rule: standard or daylight time.
    struct Designation: Sendable, Hashable {
        var abbreviation: String
        /// Seconds east of UTC.
        var utOffsetSeconds: Int
    }

    /// The day of a transition.
    enum Day: Sendable, Hashable {
        /// `Jn`: day 1–365; February 29 is never counted (J60 is always March 1).
        case julianNoLeapDay(Int)
        /// `n`: zero-based day 0–365; February 29 is counted in leap years.
        case zeroBasedDay(Int)
        /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (1–5, 5 = last) of month `m`.
        case monthWeekDay(month: Int, week: Int, weekday: Int)
    }

    /// When daylight time starts or ends: a day, and a time on it in the local time in force
    /// **before** the transition (seconds, −167 h … 167 h).
    struct Transition: Sendable, Hashable {
        var day: Day
        var timeSeconds: Int
    }

    /// Daylight time and when it is in force.
    struct Daylight: Sendable, Hashable {
        var designation: Designation
        var start: Transition
        var end: Transition
    }

    var standard: Designation
    var daylight: Daylight?

    /// The local time type at `seconds` after the epoch (POSIX seconds, UTC).
    func designation(at seconds: Int64) -> (designation: Designation, isDaylightSavingTime: Bool) {
        guard let daylight else { return (standard, false) }
        let year = LocalDate(daysSinceEpoch: Int(seconds.floorDivided(by: 86_400))).year
        // The transitions of the years around `seconds`; with hours up to ±167 and offsets up
        // to ±25 h a year's transitions stay within 8 days of it, so every transition of
        // `year - 2` is before `seconds` and the latest transition not after `seconds` is
        // among these. On a tie (DST all year: one year's end at the next year's start),
        // the start wins.
        var latest: (instant: Int64, isDaylight: Bool)?
        func consider(_ instant: Int64, isDaylight: Bool) {
            guard instant <= seconds else { return }
            if let current = latest,
               current.instant > instant || (current.instant == instant && current.isDaylight) { return }
            latest = (instant, isDaylight)
        }
        for y in (year - 2)...(year + 1) {
            consider(instant(of: daylight.end, in: y, localOffset: daylight.designation.utOffsetSeconds),
                     isDaylight: false)
            consider(instant(of: daylight.start, in: y, localOffset: standard.utOffsetSeconds), isDaylight: true)
        }
        return latest?.isDaylight == true ? (daylight.designation, true) : (standard, false)
    }

    /// UTC seconds of `transition` in `year`, its time read in a local time `localOffset`
    /// seconds east of UTC.
    private func instant(of transition: Transition, in year: Int, localOffset: Int) -> Int64 {
        let january1 = LocalDate.first(ofMonth: 1, in: year).daysSinceEpoch
        let day: Int
        switch transition.day {
        case .julianNoLeapDay(let n):
            day = january1 + n - 1 + (LocalDate.isLeap(year) && n >= 60 ? 1 : 0)
        case .zeroBasedDay(let n):
            day = january1 + n
        case .monthWeekDay(let month, let week, let weekday):
            let first = LocalDate.first(ofMonth: month, in: year)
            let firstWeekday = first.isoWeekday % 7  // 0 = Sunday, as in the TZ string.
            var dayOfMonth = 1 + (weekday - firstWeekday + 7) % 7 + 7 * (week - 1)
            while dayOfMonth > LocalDate.daysIn(month: month, year: year) { dayOfMonth -= 7 }
            day = first.daysSinceEpoch + dayOfMonth - 1
        }
        return Int64(day) * 86_400 + Int64(transition.timeSeconds) - Int64(localOffset)
    }
}

extension LocalDate {
    /// The first of `month` (1–12) in `year`: always a valid date.
    fileprivate static func first(ofMonth month: Int, in year: Int) -> LocalDate {
        var date = LocalDate(daysSinceEpoch: 0)
        date.year = year
        date.month = month
        date.day = 1
        return date
    }
}

extension Int64 {
    /// Division rounding toward minus infinity (`-1 / 86 400` is day −1, not day 0).
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

// MARK: - Parsing

extension ZoneInfoPOSIXRule {
    /// Parses a TZ string; throws the reason (for an error message) on bad input.
    init(parsing text: String) throws(ZoneInfoPOSIXRule.SyntaxError) {
        var scanner = Scanner(bytes: Array(text.utf8))
        let standardName = try scanner.name()
        let standardOffset = -(try scanner.offset(maxHours: 24, what: "standard time offset"))
        standard = Designation(abbreviation: standardName, utOffsetSeconds: standardOffset)
        if scanner.atEnd {
            daylight = nil
            return
        }
        let daylightName = try scanner.name()
        var daylightOffset = standardOffset + 3_600  // POSIX default: one hour ahead of standard.
        if let next = scanner.peek, next != UInt8(ascii: ",") {
            daylightOffset = -(try scanner.offset(maxHours: 24, what: "daylight time offset"))
        }
        guard scanner.consume(",") else {
            throw SyntaxError(
                scanner.atEnd
                    ? "daylight time \(daylightName) has no rule saying when it starts and ends"
                    : "expected ',' before the daylight time rule at character \(scanner.position + 1)")
        }
        let start = try scanner.transition(what: "start of daylight time")
        guard scanner.consume(",") else {
            throw SyntaxError("expected ',' before the end of daylight time at character \(scanner.position + 1)")
        }
        let end = try scanner.transition(what: "end of daylight time")
        guard scanner.atEnd else {
            throw SyntaxError("unexpected text after the rule at character \(scanner.position + 1)")
        }
        daylight = Daylight(
            designation: Designation(abbreviation: daylightName, utOffsetSeconds: daylightOffset),
            start: start, end: end)
    }

    /// A reason a TZ string is refused.
    struct SyntaxError: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Reads a TZ string from left to right.
    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position == bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[position] }

        mutating func consume(_ character: Unicode.Scalar) -> Bool {
            guard peek == UInt8(ascii: character) else { return false }
            position += 1
            return true
        }

        /// `std`/`dst`: three or more letters, or `<…>` with letters, digits, '+' and '-'.
        mutating func name() throws(SyntaxError) -> String {
            let begin = position
            if consume("<") {
                let inner = position
                while let byte = peek, isAlphanumeric(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                    position += 1
                }
                let name = String(decoding: bytes[inner..<position], as: UTF8.self)
                guard consume(">") else {
                    throw SyntaxError("quoted name starting at character \(begin + 1) has no closing '>' or a character other than letters, digits, '+' and '-'")
                }
                guard name.utf8.count >= 3 else {
                    throw SyntaxError("name <\(name)> is shorter than 3 characters")
                }
                return name
            }
            while let byte = peek, isLetter(byte) { position += 1 }
            guard position - begin >= 3 else {
                throw SyntaxError("expected a zone name of at least 3 letters at character \(begin + 1)")
            }
            return String(decoding: bytes[begin..<position], as: UTF8.self)
        }

        /// `[+-]hh[:mm[:ss]]` in seconds, with its sign (positive = west of Greenwich).
        mutating func offset(maxHours: Int, what: String) throws(SyntaxError) -> Int {
            let begin = position
            var sign = 1
            if consume("-") { sign = -1 } else { _ = consume("+") }
            guard let hours = number(maxDigits: 3) else {
                throw SyntaxError("expected the \(what) (hours) at character \(begin + 1)")
            }
            guard hours <= maxHours else {
                throw SyntaxError("\(what) of \(hours) hours is out of range (at most \(maxHours))")
            }
            var seconds = hours * 3_600
            if consume(":") {
                guard let minutes = number(maxDigits: 2), minutes < 60 else {
                    throw SyntaxError("expected minutes 00–59 in the \(what) at character \(position + 1)")
                }
                seconds += minutes * 60
                if consume(":") {
                    guard let secs = number(maxDigits: 2), secs < 60 else {
                        throw SyntaxError("expected seconds 00–59 in the \(what) at character \(position + 1)")
                    }
                    seconds += secs
                }
            }
            return sign * seconds
        }

        /// `date[/time]`: `Jn`, `n` or `Mm.w.d`; time defaults to 02:00.
        mutating func transition(what: String) throws(SyntaxError) -> Transition {
            let begin = position
            let day: Day
            if consume("J") {
                guard let n = number(maxDigits: 3), (1...365).contains(n) else {
                    throw SyntaxError("\(what): expected Jn with n from 1 to 365 at character \(begin + 1)")
                }
                day = .julianNoLeapDay(n)
            } else if consume("M") {
                guard let month = number(maxDigits: 2), (1...12).contains(month), consume("."),
                      let week = number(maxDigits: 1), (1...5).contains(week), consume("."),
                      let weekday = number(maxDigits: 1), (0...6).contains(weekday)
                else {
                    throw SyntaxError("\(what): expected Mm.w.d (month 1–12, week 1–5, weekday 0–6) at character \(begin + 1)")
                }
                day = .monthWeekDay(month: month, week: week, weekday: weekday)
            } else {
                guard let n = number(maxDigits: 3), (0...365).contains(n) else {
                    throw SyntaxError("\(what): expected a day (Jn, n or Mm.w.d) at character \(begin + 1)")
                }
                day = .zeroBasedDay(n)
            }
            var time = 7_200
            if consume("/") {
                // RFC 8536 §3.3.1: hours may be signed and range from −167 to 167.
                time = try offset(maxHours: 167, what: "time of the \(what)")
            }
            return Transition(day: day, timeSeconds: time)
        }

        /// Up to `maxDigits` decimal digits; nil when there is none.
        private mutating func number(maxDigits: Int) -> Int? {
            var value = 0
            var digits = 0
            while digits < maxDigits, let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                position += 1
            }
            return digits == 0 ? nil : value
        }

        private func isLetter(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }

        private func isAlphanumeric(_ byte: UInt8) -> Bool {
            isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }
}
