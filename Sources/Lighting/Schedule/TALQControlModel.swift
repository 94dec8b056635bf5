import FoundationEssentials
import CivilTime

/// Decoding of the TALQ 2.7.1 control model (`Calendar`, `CalendarRule`, `ControlProgramOne`,
/// `OverrideCommand`) into lampd's ``Schedule`` and overrides.
///
/// Supported subset (documented in docs/lighting.md): `fixedTimeControls` with `LevelState`
/// commands; `astroClockTimeControls` with operation `Set` (placed as switch points in the
/// same time line); `activePeriods` empty or one `AbsoluteActivePeriod` /
/// `AstroClockActivePeriod`. Anything else (sensor periods, dynamic controls, operations
/// other than `Set`) is rejected with a ``ScheduleError`` rather than guessed.
public enum TALQ {
    /// TALQ `Calendar`.
    public struct Calendar: Decodable, Sendable {
        public var id: String
        public var rules: [Rule]?
        public var defaultProgram: String?
    }

    /// TALQ `CalendarRule`.
    public struct Rule: Decodable, Sendable {
        public var startDate: String?
        public var endDate: String?
        public var condition: Condition?
        public var program: String
    }

    /// TALQ `ccDay` / `ccDate` condition.
    public struct Condition: Decodable, Sendable {
        /// A weekday or weekday range, 1 = Monday.
        public struct DayItem: Decodable, Sendable { public var start: Int; public var end: Int? }
        /// A day pattern (`---dd` or `--mm-dd`) or a range of them.
        public struct DateItem: Decodable, Sendable { public var start: String; public var end: String? }
        public var type: String
        public var days: [DayItem]?
        public var occurrences: [String]?
        public var dates: [DateItem]?
    }

    /// TALQ `State` (only `LevelState` is used for lamps).
    public struct State: Decodable, Sendable {
        public var name: String
        public var value: Double?
    }

    /// TALQ `CommandBase` / `Command`.
    public struct Command: Decodable, Sendable {
        public var state: State
        public var rampToLevelTime: Double?
        public var reason: String?
        public var refAddress: String?
        public var cmsRefId: String?
        public var start: String?
        public var expiration: String?
    }

    /// TALQ `FixedTimeControl`: from `startTime` (local `hh:mm:ss`), apply `command`.
    public struct FixedTimeControl: Decodable, Sendable {
        public var startTime: String
        public var command: Command
    }

    /// TALQ `AstroClockTimeControl`: at sunrise/sunset + `offset` minutes, apply `command`.
    public struct AstroClockTimeControl: Decodable, Sendable {
        public var offset: Int
        public var solarEventType: String
        public var operation: String
        public var command: Command
    }

    /// TALQ active period (`AbsoluteActivePeriod`, `AstroClockActivePeriod`, …), offsets in minutes.
    public struct ActivePeriod: Decodable, Sendable {
        public var name: String
        public var startTime: String?
        public var endTime: String?
        public var sunsetOffset: Int?
        public var sunriseOffset: Int?
    }

    /// TALQ `ControlProgramOne`.
    public struct ControlProgramOne: Decodable, Sendable {
        public var type: String
        public var id: String
        public var activePeriods: [ActivePeriod]
        public var fixedTimeControls: [FixedTimeControl]
        public var astroClockTimeControls: [AstroClockTimeControl]?
    }

    /// TALQ `OverrideCommand` (a missing `targetCommand` means "return to the program").
    public struct OverrideCommand: Decodable, Sendable {
        public var targetCommand: Command?
    }

    /// Builds a ``Schedule`` from a TALQ calendar and its programs.
    public static func schedule(calendar: Calendar, programs: [ControlProgramOne]) throws(ScheduleError) -> Schedule {
        guard let defaultProgram = calendar.defaultProgram else {
            throw ScheduleError(code: "no-default-program", "TALQ calendar '\(calendar.id)' has no defaultProgram; lampd needs one so that every day has a program")
        }
        var rules: [CalendarRule] = []
        for (index, rule) in (calendar.rules ?? []).enumerated() {
            rules.append(try convert(rule, number: index + 1, calendarID: calendar.id))
        }
        return try Schedule(calendar: LightingCalendar(id: calendar.id, rules: rules, defaultProgram: defaultProgram),
                            programs: programs.map { program throws(ScheduleError) in try convert(program) })
    }

    private static func convert(_ rule: Rule, number: Int, calendarID: String) throws(ScheduleError) -> CalendarRule {
        func bad(_ what: String) -> ScheduleError {
            ScheduleError(code: "bad-talq-rule", "TALQ calendar '\(calendarID)' rule \(number): \(what)")
        }
        var result = CalendarRule(program: rule.program)
        if let text = rule.startDate { guard let d = RuleDate(text) else { throw bad("startDate '\(text)'") }; result.startDate = d }
        if let text = rule.endDate { guard let d = RuleDate(text) else { throw bad("endDate '\(text)'") }; result.endDate = d }
        guard let condition = rule.condition else { return result }
        switch condition.type {
        case "ccDay":
            var weekdays: [Int] = []
            for item in condition.days ?? [] {
                let end = item.end ?? item.start
                guard (1...7).contains(item.start), (item.start...7).contains(end) else { throw bad("weekday range \(item.start)–\(end)") }
                weekdays += Array(item.start...end)
            }
            result.weekdays = weekdays
            if let occurrences = condition.occurrences {
                result.occurrences = try occurrences.map { text throws(ScheduleError) in
                    guard let o = WeekdayOccurrence(text) else { throw bad("occurrence '\(text)'") }
                    return o
                }
            }
        case "ccDate":
            result.dates = try (condition.dates ?? []).map { item throws(ScheduleError) in
                guard let start = DayPattern(item.start) else { throw bad("date '\(item.start)'") }
                var end: DayPattern? = nil
                if let text = item.end { guard let e = DayPattern(text) else { throw bad("date '\(text)'") }; end = e }
                return DayRange(start: start, end: end)
            }
        default:
            throw bad("unknown condition type '\(condition.type)'")
        }
        return result
    }

    static func level(of command: Command, context: String) throws(ScheduleError) -> Int {
        guard command.state.name == "LevelState", let value = command.state.value else {
            throw ScheduleError(code: "unsupported-talq", "\(context): only LevelState commands with a value are supported, got \(command.state.name)")
        }
        guard (0...100).contains(value) else {
            throw ScheduleError(code: "level-out-of-range", "\(context): level \(value) is not within 0–100 %")
        }
        return Int(value.rounded())
    }

    private static func convert(_ program: ControlProgramOne) throws(ScheduleError) -> ControlProgram {
        let context = "TALQ program '\(program.id)'"
        var activePeriod: Lighting.ActivePeriod? = nil
        if program.activePeriods.count > 1 {
            throw ScheduleError(code: "unsupported-talq", "\(context): only one active period per program is supported")
        }
        if let period = program.activePeriods.first {
            switch period.name {
            case "AbsoluteActivePeriod":
                guard let startText = period.startTime, let endText = period.endTime,
                      let from = TimeOfDay(startText), let to = TimeOfDay(endText) else {
                    throw ScheduleError(code: "bad-talq-time", "\(context): AbsoluteActivePeriod needs startTime and endTime as hh:mm:ss")
                }
                if from != to { activePeriod = Lighting.ActivePeriod(from: .fixed(from), to: .fixed(to)) }  // equal = whole day
            case "AstroClockActivePeriod":
                guard let sunset = period.sunsetOffset, let sunrise = period.sunriseOffset else {
                    throw ScheduleError(code: "bad-talq-rule", "\(context): AstroClockActivePeriod needs sunsetOffset and sunriseOffset")
                }
                activePeriod = Lighting.ActivePeriod(from: .solar(.sunset, offsetMinutes: sunset), to: .solar(.sunrise, offsetMinutes: sunrise))
            default:
                throw ScheduleError(code: "unsupported-talq", "\(context): active period \(period.name) is not supported (sensor periods need a sensor input)")
            }
        }
        var points: [SwitchPoint] = []
        for control in program.fixedTimeControls {
            guard let time = TimeOfDay(control.startTime) else {
                throw ScheduleError(code: "bad-talq-time", "\(context): startTime '\(control.startTime)' is not hh:mm:ss")
            }
            points.append(SwitchPoint(at: .fixed(time), levelPercent: try level(of: control.command, context: "\(context) \(control.startTime)"),
                                      rampSeconds: control.command.rampToLevelTime ?? 0))
        }
        for control in program.astroClockTimeControls ?? [] {
            guard control.operation == "Set" else {
                throw ScheduleError(code: "unsupported-talq", "\(context): astro clock operation '\(control.operation)' is not supported (only Set)")
            }
            let event: SolarEvent
            switch control.solarEventType {
            case "sunrise": event = .sunrise
            case "sunset": event = .sunset
            default: throw ScheduleError(code: "bad-talq-rule", "\(context): solarEventType '\(control.solarEventType)'")
            }
            let at = SwitchTime.solar(event, offsetMinutes: control.offset)
            points.append(SwitchPoint(at: at, levelPercent: try level(of: control.command, context: "\(context) \(at)"),
                                      rampSeconds: control.command.rampToLevelTime ?? 0))
        }
        return ControlProgram(id: program.id, activePeriod: activePeriod, switchPoints: points)
    }
}
