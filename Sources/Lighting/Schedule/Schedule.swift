import SystemSupport
import FoundationEssentials
import CivilTime

/// What is wrong with a schedule (calendar + programs); `code` is stable, `description` actionable.
public struct ScheduleError: ActionableError, Hashable {
    public let code: String
    public let description: String

    public init(code: String, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// A switch point placed on the time line: the instant it fires and where it came from.
public struct ScheduledSwitch: Hashable, Sendable {
    public var instant: Date
    /// The lighting day (noon to noon) the switch belongs to.
    public var lightingDay: LocalDate
    public var programID: String
    /// Index of the calendar rule that chose the program; nil = the default program.
    public var ruleIndex: Int?
    public var switchPoint: SwitchPoint
    /// Set when the point did not fire at its nominal time: a nonexistent local time (DST),
    /// or a solar event that does not happen that day (polar night, midnight sun).
    public var note: String?
}

/// The program's level at one instant and why.
public struct ScheduledLevel: Hashable, Sendable {
    /// Level now, 0–100 %, including an ongoing ramp.
    public var levelPercent: Double
    /// Level the current switch point asks for.
    public var targetLevelPercent: Int
    /// The switch point in force (nil only if the program has never switched: then `levelPercent`
    /// comes from the program's last declared point).
    public var cause: ScheduledSwitch?
    public var programID: String
    public var ruleIndex: Int?
    /// The lighting day `now` belongs to.
    public var lightingDay: LocalDate

    /// "program 'city-default' switch point sunset+00:10 → 100 %".
    public var explanation: String {
        var text = "program '\(programID)'"
        if let cause {
            text += " switch point \(cause.switchPoint.at) → \(cause.switchPoint.levelPercent) %"
            if let note = cause.note, note != "start of active period", note != "end of active period" { text += " (\(note))" }
        } else {
            text += " (no switch point yet: last point of the program) → \(targetLevelPercent) %"
        }
        if ruleIndex == nil { text += " [default program]" } else if let ruleIndex { text += " [calendar rule \(ruleIndex + 1)]" }
        return text
    }
}

/// A calendar with its control programs: answers "what level now?" and "what switches next?".
///
/// Deterministic: time, place and time zone are parameters; no clock is read.
public struct Schedule: Hashable, Sendable, Codable {
    public var calendar: LightingCalendar
    public var programs: [ControlProgram]

    /// Creates a schedule and checks it (see ``validate()``).
    public init(calendar: LightingCalendar, programs: [ControlProgram]) throws(ScheduleError) {
        self.calendar = calendar
        self.programs = programs
        try validate()
    }

    public init(from decoder: any Decoder) throws {
        enum Keys: String, CodingKey { case calendar, programs }
        let c = try decoder.container(keyedBy: Keys.self)
        calendar = try c.decode(LightingCalendar.self, forKey: .calendar)
        programs = try c.decode([ControlProgram].self, forKey: .programs)
        try validate()
    }

    /// Checks that every program referenced exists, program IDs are unique, programs are not
    /// empty, levels are 0–100 % and ramps are not negative.
    public func validate() throws(ScheduleError) {
        var seen = Set<String>()
        for program in programs {
            if !seen.insert(program.id).inserted {
                throw ScheduleError(code: "duplicate-program", "program '\(program.id)' is defined twice")
            }
            if program.switchPoints.isEmpty {
                throw ScheduleError(code: "empty-program", "program '\(program.id)' has no switch points")
            }
            for point in program.switchPoints {
                if !(0...100).contains(point.levelPercent) {
                    throw ScheduleError(code: "level-out-of-range",
                        "program '\(program.id)' switch point \(point.at): level \(point.levelPercent) % is not within 0–100 %")
                }
                if !(point.rampSeconds >= 0) {
                    throw ScheduleError(code: "negative-ramp", "program '\(program.id)' switch point \(point.at): ramp must be ≥ 0 s")
                }
            }
        }
        if !seen.contains(calendar.defaultProgram) {
            throw ScheduleError(code: "unknown-program", "calendar '\(calendar.id)': default program '\(calendar.defaultProgram)' is not defined")
        }
        for (index, rule) in calendar.rules.enumerated() where !seen.contains(rule.program) {
            throw ScheduleError(code: "unknown-program", "calendar '\(calendar.id)' rule \(index + 1): program '\(rule.program)' is not defined")
        }
        for (index, rule) in calendar.rules.enumerated() {
            if let weekdays = rule.weekdays, weekdays.contains(where: { !(1...7).contains($0) }) {
                throw ScheduleError(code: "bad-weekday", "calendar '\(calendar.id)' rule \(index + 1): weekdays are 1 (Monday) to 7 (Sunday)")
            }
        }
    }

    /// The lighting day containing `instant`: the local date D such that the instant lies
    /// between local noon of D and local noon of D+1.
    public static func lightingDay(containing instant: Date, timeZone: ZoneInfo) -> LocalDate {
        let local = LocalTimeConversion.local(instant, in: timeZone)
        return local.secondsSinceMidnight < 43_200 ? local.date.adding(days: -1) : local.date
    }

    /// The switch points of lighting day `day`, in firing order.
    ///
    /// Placement: see ``ControlProgram``. A solar event that does not happen in the lighting
    /// day is replaced by the start of the lighting day (local noon, offset ignored) when the
    /// sun stays on the "night" side for it — an evening event when the sun is already down at
    /// the start (polar night), a morning event when the sun is still up at the end (midnight
    /// sun) — and otherwise dropped; so in polar night a dusk-to-dawn
    /// program stays on and under the midnight sun it stays off. Points that would fall
    /// after the lighting day ends are dropped; before it starts, moved to its start.
    /// With an active period, its start and end appear as switch points too (the start with
    /// the level the switch points are at, the end with 0 %).
    public func switches(forLightingDay day: LocalDate, location: GeoLocation, timeZone: ZoneInfo) -> [ScheduledSwitch] {
        let (programID, ruleIndex) = calendar.program(for: day)
        guard let program = programs.first(where: { $0.id == programID }) else { return [] }
        let start = LocalTimeConversion.instant(on: day, at: TimeOfDay(hours: 12, minutes: 0)!, in: timeZone)
        let end = LocalTimeConversion.instant(on: day.adding(days: 1), at: TimeOfDay(hours: 12, minutes: 0)!, in: timeZone)
        let placer = SwitchPlacer(day: day, start: start, end: end, timeZone: timeZone, solar: SolarCalculator(location: location))
        var placed: [(instant: Date, order: Int, note: String?)] = []
        for (order, point) in program.switchPoints.enumerated() {
            guard let (instant, note) = placer.place(point.at) else { continue }
            placed.append((instant, order, note))
        }
        placed.sort { ($0.instant, $0.order) < ($1.instant, $1.order) }
        func scheduled(_ point: SwitchPoint, _ instant: Date, _ note: String?) -> ScheduledSwitch {
            ScheduledSwitch(instant: instant, lightingDay: day, programID: programID, ruleIndex: ruleIndex,
                            switchPoint: point, note: note)
        }
        let layer = placed.map { scheduled(program.switchPoints[$0.order], $0.instant, $0.note) }
        guard let period = program.activePeriod else { return layer }

        // Active period: [periodStart, periodEnd) inside the lighting day.
        guard let (periodStart, startNote) = placer.place(period.from) else {
            // The period does not begin this day (e.g. sunset under the midnight sun): off.
            return [scheduled(SwitchPoint(at: period.from, levelPercent: 0), start,
                              "active period \(period) does not begin this day")]
        }
        let (periodEnd, endNote) = placer.place(period.to) ?? (end, nil)
        if periodEnd <= periodStart {
            return [scheduled(SwitchPoint(at: period.to, levelPercent: 0), start,
                              "active period \(period) is empty this day")]
        }
        // Level of the switch points at the period start; they wrap around within the day.
        let levelAtStart = layer.last(where: { $0.instant <= periodStart })?.switchPoint.levelPercent
            ?? layer.last?.switchPoint.levelPercent ?? 100
        var result: [ScheduledSwitch] = []
        if periodStart > start {
            result.append(scheduled(SwitchPoint(at: period.from, levelPercent: 0), start, "before the active period"))
        }
        result.append(scheduled(SwitchPoint(at: period.from, levelPercent: levelAtStart,
                                            rampSeconds: program.switchPoints.first?.rampSeconds ?? 0),
                                periodStart, startNote ?? "start of active period"))
        result += layer.filter { $0.instant > periodStart && $0.instant < periodEnd }
        if periodEnd < end {
            result.append(scheduled(SwitchPoint(at: period.to, levelPercent: 0), periodEnd, endNote ?? "end of active period"))
        }
        return result
    }

    /// The program level at `instant` (ramps included) and the switch point that set it.
    public func level(at instant: Date, location: GeoLocation, timeZone: ZoneInfo) -> ScheduledLevel {
        let day = Schedule.lightingDay(containing: instant, timeZone: timeZone)
        let (programID, ruleIndex) = calendar.program(for: day)
        // Switches up to `instant`, looking back at most a week (carry-over across days).
        // The switch in force; and the one before it only while a ramp from it is running.
        var history: [ScheduledSwitch] = []
        for back in 0...7 {
            let switches = self.switches(forLightingDay: day.adding(days: -back), location: location, timeZone: timeZone)
            history.insert(contentsOf: switches.filter { $0.instant <= instant }, at: 0)
            guard let cause = history.last else { continue }
            let ramping = cause.switchPoint.rampSeconds > 0 && instant.timeIntervalSince(cause.instant) < cause.switchPoint.rampSeconds
            if !ramping || history.count >= 2 { break }
        }
        guard let cause = history.last else {
            let program = programs.first { $0.id == programID }
            let level = program?.switchPoints.last?.levelPercent ?? 100
            return ScheduledLevel(levelPercent: Double(level), targetLevelPercent: level, cause: nil,
                                  programID: programID, ruleIndex: ruleIndex, lightingDay: day)
        }
        let target = cause.switchPoint.levelPercent
        let previous = history.count >= 2 ? history[history.count - 2].switchPoint.levelPercent : target
        let level = Ramp.levelPercent(from: Double(previous), to: Double(target), start: cause.instant,
                                      durationSeconds: cause.switchPoint.rampSeconds, now: instant)
        return ScheduledLevel(levelPercent: level, targetLevelPercent: target, cause: cause,
                              programID: cause.programID, ruleIndex: cause.ruleIndex, lightingDay: day)
    }

    /// The next `count` switch points strictly after `instant` (searching at most 400 days ahead).
    public func nextSwitchPoints(after instant: Date, count: Int, location: GeoLocation, timeZone: ZoneInfo) -> [ScheduledSwitch] {
        // Only switches that change the level: the day's bookkeeping entries
        // (off at the lighting day's start, before an active period) are no
        // news to a technician.
        var result: [ScheduledSwitch] = []
        var levelInForce = level(at: instant, location: location, timeZone: timeZone).targetLevelPercent
        var day = Schedule.lightingDay(containing: instant, timeZone: timeZone)
        for _ in 0..<400 where result.count < count {
            for next in switches(forLightingDay: day, location: location, timeZone: timeZone) where next.instant > instant {
                guard next.switchPoint.levelPercent != levelInForce else { continue }
                levelInForce = next.switchPoint.levelPercent
                result.append(next)
            }
            day = day.adding(days: 1)
        }
        return Array(result.prefix(count))
    }
}

/// Places switch times of one lighting day on the time line (rules in ``Schedule/switches(forLightingDay:location:timeZone:)``).
struct SwitchPlacer {
    let day: LocalDate
    let start: Date
    let end: Date
    let timeZone: ZoneInfo
    let solar: SolarCalculator

    /// The instant and an optional note, or nil when the time does not happen this lighting day.
    func place(_ time: SwitchTime) -> (Date, String?)? {
        var instant: Date
        var note: String? = nil
        switch time {
        case .fixed(let wallClock):
            let date = wallClock.secondsSinceMidnight >= 43_200 ? day : day.adding(days: 1)
            instant = LocalTimeConversion.instant(on: date, at: wallClock, in: timeZone)
            let shown = Int(LocalTimeConversion.local(instant, in: timeZone).secondsSinceMidnight.rounded())
            if shown != wallClock.secondsSinceMidnight {
                note = "\(wallClock) does not exist on \(date) (clocks go forward): fired at \(TimeOfDay(hours: shown / 3600 % 24, minutes: shown / 60 % 60)!)"
            }
        case .solar(let event, let offsetMinutes):
            if let eventTime = solar.firstTime(of: event, from: start, to: end) {
                instant = eventTime.addingTimeInterval(Double(offsetMinutes) * 60)
            } else {
                // No crossing in the whole lighting day, so the sun stays on one side of the
                // altitude until the next crossing: look at the side where it matters — at the
                // start for an evening event (already night → fire at once), at the end for a
                // morning event (still day at the end → it was day all along: fire at once).
                let probe = event.isMorning ? end : start
                let sunAbove = solar.elevationDegrees(at: probe) > 90 - event.zenithDegrees
                let nightSide = event.isMorning ? sunAbove : !sunAbove
                guard nightSide else { return nil }  // e.g. sunset under the midnight sun: never fires.
                instant = start
                note = "\(event.displayName) does not happen (sun stays \(sunAbove ? "up" : "down")): at noon"
            }
        }
        if instant >= end { return nil }
        if instant < start { instant = start }
        return (instant, note)
    }
}
