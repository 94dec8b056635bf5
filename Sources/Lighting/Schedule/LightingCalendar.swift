import FoundationEssentials
import CivilTime
import TextFormatting

/// A date bound of a calendar rule: a full date (`2025-12-24`) or a yearly one (`--12-24`, TALQ `gMonthDay`).
public enum RuleDate: Hashable, Sendable, Codable, CustomStringConvertible {
    case date(LocalDate)
    case everyYear(month: Int, day: Int)

    public init?(_ text: String) {
        if let date = LocalDate(iso: text) {
            self = .date(date)
        } else if text.count == 7, text.hasPrefix("--"), let m = Int(text.dropFirst(2).prefix(2)),
                  text[text.index(text.startIndex, offsetBy: 4)] == "-", let d = Int(text.suffix(2)),
                  (1...12).contains(m), d >= 1, d <= LocalDate.daysIn(month: m, year: 2024) {
            self = .everyYear(month: m, day: d)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .date(let date): date.description
        case .everyYear(let m, let d): String(printf: "--%02d-%02d", m, d)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = RuleDate(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "'\(text)' is not a date: use YYYY-MM-DD, or --MM-DD for every year"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A day pattern of a TALQ `ccDate` condition: a day of every month (`---15`) or a day of every year (`--07-04`).
public enum DayPattern: Hashable, Sendable, Codable, CustomStringConvertible {
    case dayOfMonth(Int)
    case dayOfYear(month: Int, day: Int)

    public init?(_ text: String) {
        if text.count == 5, text.hasPrefix("---"), let d = Int(text.suffix(2)), (1...31).contains(d) {
            self = .dayOfMonth(d)
        } else if case .everyYear(let m, let d)? = RuleDate(text) {
            self = .dayOfYear(month: m, day: d)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .dayOfMonth(let d): String(printf: "---%02d", d)
        case .dayOfYear(let m, let d): String(printf: "--%02d-%02d", m, d)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = DayPattern(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "'\(text)' is not a day pattern: use ---DD (every month) or --MM-DD (every year)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A range of day patterns (`end` nil = the single day `start`).
public struct DayRange: Hashable, Sendable, Codable {
    public var start: DayPattern
    public var end: DayPattern?

    public init(start: DayPattern, end: DayPattern? = nil) {
        self.start = start
        self.end = end
    }
}

/// Which weeks of the month a weekday rule applies in (TALQ `occurrences`: "1"…"5", "L").
public enum WeekdayOccurrence: Hashable, Sendable, Codable {
    /// The nth such weekday of the month, 1–5.
    case nth(Int)
    /// The last such weekday of the month.
    case last

    public init?(_ text: String) {
        if text == "L" { self = .last } else if let n = Int(text), (1...5).contains(n) { self = .nth(n) } else { return nil }
    }

    public var text: String {
        switch self {
        case .nth(let n): String(n)
        case .last: "L"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = WeekdayOccurrence(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "'\(text)' is not an occurrence: use 1 to 5, or L for the last"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

/// One calendar rule (TALQ `CalendarRule`): on matching lighting days, run `program`.
///
/// A rule matches a day when the day is within `startDate`…`endDate` (inclusive; missing =
/// unbounded; yearly bounds may wrap the new year, e.g. `--12-20` … `--01-06`) **and** the
/// optional weekday / day-of-month conditions hold. "The day" is the **lighting day**
/// (noon to noon, see ``ControlProgram``), so a Friday rule covers Friday night until
/// Saturday noon.
public struct CalendarRule: Hashable, Sendable, Codable {
    public var program: String
    public var startDate: RuleDate?
    public var endDate: RuleDate?
    /// ISO weekdays 1 (Monday) … 7 (Sunday); nil = any day.
    public var weekdays: [Int]?
    /// With `weekdays`: only the nth/last such weekday of the month (TALQ `occurrences`).
    public var occurrences: [WeekdayOccurrence]?
    /// Days of month / of year (TALQ `ccDate`); nil = any day.
    public var dates: [DayRange]?

    public init(program: String, startDate: RuleDate? = nil, endDate: RuleDate? = nil, weekdays: [Int]? = nil,
                occurrences: [WeekdayOccurrence]? = nil, dates: [DayRange]? = nil) {
        self.program = program
        self.startDate = startDate
        self.endDate = endDate
        self.weekdays = weekdays
        self.occurrences = occurrences
        self.dates = dates
    }

    /// Whether the rule applies to the lighting day `day`.
    public func matches(_ day: LocalDate) -> Bool {
        guard dateRangeContains(day) else { return false }
        if let weekdays, !weekdays.contains(day.isoWeekday) { return false }
        if let occurrences, !occurrences.isEmpty {
            let nth = (day.day - 1) / 7 + 1
            let isLast = day.day + 7 > LocalDate.daysIn(month: day.month, year: day.year)
            let hit = occurrences.contains { occurrence in
                switch occurrence {
                case .nth(let n): n == nth
                case .last: isLast
                }
            }
            if !hit { return false }
        }
        if let dates, !dates.isEmpty {
            if !dates.contains(where: { Self.range($0, contains: day) }) { return false }
        }
        return true
    }

    private func dateRangeContains(_ day: LocalDate) -> Bool {
        let md = day.month * 100 + day.day
        if case .everyYear(let sm, let sd)? = startDate, case .everyYear(let em, let ed)? = endDate {
            let s = sm * 100 + sd, e = em * 100 + ed
            return s <= e ? (s...e).contains(md) : (md >= s || md <= e)
        }
        switch startDate {
        case .date(let d)?: if day < d { return false }
        case .everyYear(let m, let dd)?: if md < m * 100 + dd { return false }
        case nil: break
        }
        switch endDate {
        case .date(let d)?: if day > d { return false }
        case .everyYear(let m, let dd)?: if md > m * 100 + dd { return false }
        case nil: break
        }
        return true
    }

    private static func range(_ range: DayRange, contains day: LocalDate) -> Bool {
        func key(_ p: DayPattern) -> (monthly: Bool, value: Int) {
            switch p {
            case .dayOfMonth(let d): (true, d)
            case .dayOfYear(let m, let d): (false, m * 100 + d)
            }
        }
        let start = key(range.start)
        let end = range.end.map(key) ?? start
        let value = start.monthly ? day.day : day.month * 100 + day.day
        return start.value <= end.value ? (start.value...end.value).contains(value)
            : (value >= start.value || value <= end.value)
    }
}

/// The calendar (TALQ `Calendar`): ordered rules, first match wins, else `defaultProgram`.
///
/// Priority is the order of `rules`: the first rule that matches a lighting day decides
/// its program (TALQ: "The Rules priorities … is defined by the order in the list").
public struct LightingCalendar: Hashable, Sendable, Codable {
    public var id: String
    public var rules: [CalendarRule]
    /// The program run on days no rule matches.
    public var defaultProgram: String

    public init(id: String, rules: [CalendarRule], defaultProgram: String) {
        self.id = id
        self.rules = rules
        self.defaultProgram = defaultProgram
    }

    /// The program for lighting day `day`, and the index of the rule that chose it (nil = default).
    public func program(for day: LocalDate) -> (programID: String, ruleIndex: Int?) {
        for (index, rule) in rules.enumerated() where rule.matches(day) {
            return (rule.program, index)
        }
        return (defaultProgram, nil)
    }
}
