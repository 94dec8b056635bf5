import Foundation
import Testing
import TestSupport
@testable import Lighting
import CivilTime

let berlinZone = try! systemZone("Europe/Berlin")
let berlinLocation = GeoLocation(latitudeDegrees: 52.52, longitudeDegrees: 13.405)!

/// Instant of a local wall-clock time (first occurrence) in `zone`.
func local(_ date: String, _ time: String, _ zone: ZoneInfo = berlinZone) -> Date {
    LocalTimeConversion.instant(on: LocalDate(iso: date)!, at: TimeOfDay(time)!, in: zone)
}


func dimmingProgram(id: String = "city-default", offsetMinutes: Int = 10) -> ControlProgram {
    ControlProgram(
        id: id,
        activePeriod: ActivePeriod(from: .solar(.sunset, offsetMinutes: offsetMinutes), to: .solar(.sunrise, offsetMinutes: -offsetMinutes)),
        switchPoints: [
            SwitchPoint(at: .fixed(TimeOfDay("23:00")!), levelPercent: 60),
            SwitchPoint(at: .fixed(TimeOfDay("05:00")!), levelPercent: 100),
        ])
}

@Suite("Local time and DST")
struct LocalTimeTests {
    @Test("weekday arithmetic")
    func weekdays() {
        #expect(LocalDate(year: 2025, month: 3, day: 30)!.isoWeekday == 7)  // Sunday
        #expect(LocalDate(year: 1970, month: 1, day: 1)!.isoWeekday == 4)  // Thursday
        #expect(LocalDate(year: 2024, month: 2, day: 29)!.adding(days: 1) == LocalDate(year: 2024, month: 3, day: 1)!)
        #expect(LocalDate(year: 2025, month: 2, day: 29) == nil)
        #expect(LocalDate(daysSinceEpoch: LocalDate(year: 1901, month: 12, day: 13)!.daysSinceEpoch) == LocalDate(year: 1901, month: 12, day: 13)!)
    }

    @Test("a time in the spring-forward gap moves to the end of the gap (02:30 → 03:00)")
    func springForward() {
        #expect(local("2025-03-30", "02:30") == iso("2025-03-30T01:00:00Z"))
        #expect(local("2025-03-30", "03:00") == iso("2025-03-30T01:00:00Z"))
        #expect(local("2025-03-30", "01:59") == iso("2025-03-30T00:59:00Z"))
    }

    @Test("a time on the fall-back night resolves to its first occurrence")
    func fallBack() {
        #expect(local("2025-10-26", "02:30") == iso("2025-10-26T00:30:00Z"))  // CEST, not 01:30Z CET
        #expect(local("2025-10-26", "03:00") == iso("2025-10-26T02:00:00Z"))
    }
}

@Suite("Schedule")
struct ScheduleTests {
    func schedule(_ rules: [CalendarRule] = [], programs: [ControlProgram] = [dimmingProgram()]) throws -> Schedule {
        try Schedule(calendar: LightingCalendar(id: "test", rules: rules, defaultProgram: "city-default"), programs: programs)
    }

    @Test("dusk-to-dawn with midnight dimming over one night")
    func oneNight() throws {
        let s = try schedule()
        let sunset = SolarCalculator(location: berlinLocation).time(of: .sunset, on: LocalDate(iso: "2025-06-10")!, timeZone: berlinZone).date!
        #expect(s.level(at: sunset.addingTimeInterval(9 * 60), location: berlinLocation, timeZone: berlinZone).levelPercent == 0)
        let lit = s.level(at: sunset.addingTimeInterval(11 * 60), location: berlinLocation, timeZone: berlinZone)
        #expect(lit.levelPercent == 100)
        #expect(lit.explanation == "program 'city-default' switch point sunset+00:10 → 100 % [default program]")
        #expect(s.level(at: local("2025-06-10", "23:30"), location: berlinLocation, timeZone: berlinZone).levelPercent == 60)
        // After midnight, the night still belongs to 2025-06-10.
        let afterMidnight = s.level(at: local("2025-06-11", "01:00"), location: berlinLocation, timeZone: berlinZone)
        #expect(afterMidnight.levelPercent == 60)
        #expect(afterMidnight.lightingDay == LocalDate(iso: "2025-06-10")!)
        // In June sunrise−10 min (≈ 04:34) ends the active period before 05:00: the 05:00 point does not relight.
        #expect(s.level(at: local("2025-06-11", "05:00"), location: berlinLocation, timeZone: berlinZone).levelPercent == 0)
        // In December it does: 100 % from 05:00 until sunrise−10 min (≈ 08:05).
        #expect(s.level(at: local("2025-12-11", "05:00"), location: berlinLocation, timeZone: berlinZone).levelPercent == 100)
        #expect(s.level(at: local("2025-12-11", "04:59"), location: berlinLocation, timeZone: berlinZone).levelPercent == 60)
        #expect(s.level(at: local("2025-06-11", "12:30"), location: berlinLocation, timeZone: berlinZone).levelPercent == 0)
    }

    @Test("the night spanning midnight follows the rule of the evening it started")
    func fridayNight() throws {
        let weekend = ControlProgram(id: "weekend", switchPoints: [
            SwitchPoint(at: .solar(.sunset, offsetMinutes: 0), levelPercent: 100),
            SwitchPoint(at: .solar(.sunrise, offsetMinutes: 0), levelPercent: 0),
        ])
        let s = try schedule([CalendarRule(program: "weekend", weekdays: [5])], programs: [dimmingProgram(), weekend])
        // 2025-06-13 is a Friday: at 01:00 on Saturday it is still Friday's (weekend) night: 100 %.
        let level = s.level(at: local("2025-06-14", "01:00"), location: berlinLocation, timeZone: berlinZone)
        #expect(level.programID == "weekend")
        #expect(level.levelPercent == 100)
        // Thursday night → default program, dimmed.
        #expect(s.level(at: local("2025-06-13", "01:00"), location: berlinLocation, timeZone: berlinZone).levelPercent == 60)
    }

    @Test("rules: nth and last weekday, yearly ranges over new year, first match wins")
    func rules() {
        let firstAndLastTuesday = CalendarRule(program: "p", weekdays: [2], occurrences: [.nth(1), .last])
        #expect(firstAndLastTuesday.matches(LocalDate(iso: "2025-07-01")!))
        #expect(!firstAndLastTuesday.matches(LocalDate(iso: "2025-07-08")!))
        #expect(firstAndLastTuesday.matches(LocalDate(iso: "2025-07-29")!))
        let newYear = CalendarRule(program: "p", startDate: RuleDate("--12-31"), endDate: RuleDate("--01-01"))
        #expect(newYear.matches(LocalDate(iso: "2025-12-31")!))
        #expect(newYear.matches(LocalDate(iso: "2026-01-01")!))
        #expect(!newYear.matches(LocalDate(iso: "2026-01-02")!))
        let fixedRange = CalendarRule(program: "p", startDate: RuleDate("2025-05-01"), endDate: RuleDate("2025-05-03"))
        #expect(fixedRange.matches(LocalDate(iso: "2025-05-03")!))
        #expect(!fixedRange.matches(LocalDate(iso: "2026-05-02")!))
        let fifteenth = CalendarRule(program: "p", dates: [DayRange(start: DayPattern("---15")!)])
        #expect(fifteenth.matches(LocalDate(iso: "2025-02-15")!))
        let calendar = LightingCalendar(id: "c", rules: [
            CalendarRule(program: "first", weekdays: [1]), CalendarRule(program: "second", weekdays: [1, 2]),
        ], defaultProgram: "d")
        #expect(calendar.program(for: LocalDate(iso: "2025-06-09")!).programID == "first")
        #expect(calendar.program(for: LocalDate(iso: "2025-06-10")!).programID == "second")
        #expect(calendar.program(for: LocalDate(iso: "2025-06-11")!).programID == "d")
    }

    @Test("02:30 on the spring-forward night fires at 03:00; on the fall-back night once, the first time")
    func dstSwitchPoints() throws {
        let program = ControlProgram(id: "city-default", switchPoints: [
            SwitchPoint(at: .fixed(TimeOfDay("20:00")!), levelPercent: 100),
            SwitchPoint(at: .fixed(TimeOfDay("02:30")!), levelPercent: 40),
            SwitchPoint(at: .fixed(TimeOfDay("07:00")!), levelPercent: 0),
        ])
        let s = try schedule(programs: [program])
        let spring = s.switches(forLightingDay: LocalDate(iso: "2025-03-29")!, location: berlinLocation, timeZone: berlinZone)
        #expect(spring.map(\.instant) == [iso("2025-03-29T19:00:00Z"), iso("2025-03-30T01:00:00Z"), iso("2025-03-30T05:00:00Z")])
        #expect(spring[1].note?.contains("does not exist") == true)
        let fall = s.nextSwitchPoints(after: iso("2025-10-25T12:00:00Z"), count: 3, location: berlinLocation, timeZone: berlinZone)
        #expect(fall.map(\.instant) == [iso("2025-10-25T18:00:00Z"), iso("2025-10-26T00:30:00Z"), iso("2025-10-26T06:00:00Z")])
        // Between the two 02:30s (01:00Z = 02:00 CET, after the first 02:30) it is 40 %, once.
        #expect(s.level(at: iso("2025-10-26T01:45:00Z"), location: berlinLocation, timeZone: berlinZone).levelPercent == 40)
    }

    @Test("ramps: a pure function of from, to, start, duration, now")
    func ramp() throws {
        let start = iso("2025-01-01T00:00:00Z")
        #expect(Ramp.levelPercent(from: 100, to: 60, start: start, durationSeconds: 300, now: start.addingTimeInterval(-1)) == 100)
        #expect(Ramp.levelPercent(from: 100, to: 60, start: start, durationSeconds: 300, now: start.addingTimeInterval(150)) == 80)
        #expect(Ramp.levelPercent(from: 100, to: 60, start: start, durationSeconds: 300, now: start.addingTimeInterval(300)) == 60)
        #expect(Ramp.levelPercent(from: 0, to: 100, start: start, durationSeconds: 0, now: start) == 100)
        // In a schedule: 23:00 → 60 % with a 300 s ramp.
        let program = ControlProgram(id: "city-default", switchPoints: [
            SwitchPoint(at: .fixed(TimeOfDay("18:00")!), levelPercent: 100),
            SwitchPoint(at: .fixed(TimeOfDay("23:00")!), levelPercent: 60, rampSeconds: 300),
            SwitchPoint(at: .fixed(TimeOfDay("07:00")!), levelPercent: 0),
        ])
        let s = try schedule(programs: [program])
        #expect(s.level(at: local("2025-06-10", "23:02:30"), location: berlinLocation, timeZone: berlinZone).levelPercent == 80)
    }

    @Test("polar night keeps a dusk-to-dawn program on; midnight sun keeps it off")
    func polar() throws {
        let tromso = GeoLocation(latitudeDegrees: 69.6492, longitudeDegrees: 18.9553)!
        let oslo = try! systemZone("Europe/Oslo")
        let s = try schedule()
        for time in ["12:30", "18:00", "23:30", "03:00", "09:00"] {
            let day = time < "12:00" ? "2025-12-22" : "2025-12-21"
            #expect(s.level(at: local(day, time, oslo), location: tromso, timeZone: oslo).levelPercent > 0)
        }
        for time in ["12:30", "18:00", "23:30", "03:00", "05:30", "09:00"] {
            let day = time < "12:00" ? "2025-06-22" : "2025-06-21"
            #expect(s.level(at: local(day, time, oslo), location: tromso, timeZone: oslo).levelPercent == 0)
        }
    }

    @Test("invalid schedules are rejected with a clear error")
    func validation() {
        #expect(throws: ScheduleError.self) {
            try Schedule(calendar: LightingCalendar(id: "c", rules: [], defaultProgram: "missing"), programs: [dimmingProgram()])
        }
        #expect(throws: ScheduleError.self) {
            try Schedule(calendar: LightingCalendar(id: "c", rules: [], defaultProgram: "p"),
                         programs: [ControlProgram(id: "p", switchPoints: [SwitchPoint(at: .fixed(TimeOfDay("20:00")!), levelPercent: 101)])])
        }
        #expect(SwitchTime("sunset+00:10") == .solar(.sunset, offsetMinutes: 10))
        #expect(SwitchTime("sunrise-01:05") == .solar(.sunrise, offsetMinutes: -65))
        #expect(SwitchTime("civilDusk")?.description == "civilDusk")
        #expect(SwitchTime("moonrise") == nil)
        #expect(SwitchTime("25:00") == nil)
    }

    @Test("decodes the simple (TOML-shaped) form")
    func simpleForm() throws {
        let s = try JSONDecoder().decode(Schedule.self, from: Fixture.data("simple_schedule.json"))
        #expect(s.programs.count == 3)
        #expect(s.programs[0].switchPoints[0] == SwitchPoint(at: .fixed(TimeOfDay("23:00")!), levelPercent: 60, rampSeconds: 300))
        #expect(s.programs[0].activePeriod == ActivePeriod(from: SwitchTime("sunset+00:10")!, to: SwitchTime("sunrise-00:10")!))
        #expect(s.calendar.program(for: LocalDate(iso: "2025-12-31")!).programID == "holiday")
        // Round trip.
        let again = try JSONDecoder().decode(Schedule.self, from: JSONEncoder().encode(s))
        #expect(again == s)
    }

    @Test("decodes the TALQ calendar and programs")
    func talqForm() throws {
        struct File: Decodable {
            let calendar: TALQ.Calendar
            let controlPrograms: [TALQ.ControlProgramOne]
        }
        let file = try JSONDecoder().decode(File.self, from: Fixture.data("talq_calendar.json"))
        let s = try TALQ.schedule(calendar: file.calendar, programs: file.controlPrograms)
        #expect(s.calendar.rules.count == 3)
        #expect(s.calendar.program(for: LocalDate(iso: "2025-12-25")!).programID == "all-night-full")
        #expect(s.calendar.program(for: LocalDate(iso: "2025-07-01")!).programID == "market-night")  // 1st Tuesday
        #expect(s.calendar.program(for: LocalDate(iso: "2025-07-04")!).programID == "weekend")  // Friday
        #expect(s.calendar.program(for: LocalDate(iso: "2025-07-03")!).programID == "city-default")
        let level = s.level(at: local("2025-07-03", "23:02:30"), location: berlinLocation, timeZone: berlinZone)
        #expect(level.levelPercent == 80)  // 100 → 60 % ramp over 300 s
    }

    @Test("the TALQ fixture is valid against the TALQ 2.7.1 schema (python jsonschema)")
    func talqSchema() async throws {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let schema = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/talq/talq-data-model-2.7.1.json")
        let script = packageRoot.appendingPathComponent("Tests/LightingTests/Reference/validate_talq.py")
        let fixture = packageRoot.appendingPathComponent("Tests/LightingTests/Fixtures/talq_calendar.json")
        try #require(FileManager.default.fileExists(atPath: schema.path),
                     "the TALQ schema is missing at \(schema.path): the design repository's shared/ must sit beside the project")
        let result = try await ChildProcess.runPython([script.path, schema.path, fixture.path])
        let text = result.stdout + result.stderr
        #expect(!text.contains("No module named"), "python3 lacks a test peer: run scripts/setup --test")
        #expect(result.exitCode == 0, "\(text)")
    }
}
