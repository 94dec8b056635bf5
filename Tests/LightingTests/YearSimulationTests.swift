import Foundation
import Testing
import TestSupport
@testable import Lighting
import CivilTime

/// A simulated clock runs a whole year through the schedule at several sites: a dusk-to-dawn
/// program with midnight dimming (100 % from sunset+10 min, 60 % from 23:00, 100 % from
/// 05:00, off at sunrise−10 min). Steps are an hour with a phase moving 7 min a day, plus each exact night boundary.
@Suite("Year simulation")
struct YearSimulationTests {
    struct Site: Sendable, CustomTestStringConvertible {
        let name: String
        let latitude: Double
        let longitude: Double
        let zone: String
        var testDescription: String { name }
    }

    static let sites: [Site] = [
        Site(name: "Berlin (DST, north)", latitude: 52.52, longitude: 13.405, zone: "Europe/Berlin"),
        Site(name: "Sydney (DST, south)", latitude: -33.8688, longitude: 151.2093, zone: "Australia/Sydney"),
        Site(name: "Quito (equator, no DST)", latitude: -0.1807, longitude: -78.4678, zone: "America/Guayaquil"),
        Site(name: "Oulu 65° N (DST)", latitude: 65.0, longitude: 25.47, zone: "Europe/Helsinki"),
        Site(name: "Tromsø 69.6° N (polar night, midnight sun)", latitude: 69.6492, longitude: 18.9553, zone: "Europe/Oslo"),
    ]

    @Test("never dark between sunset+10 min and sunrise−10 min; dimmed at midnight; off by day", arguments: sites)
    func year(_ site: Site) throws {
        let location = try #require(GeoLocation(latitudeDegrees: site.latitude, longitudeDegrees: site.longitude))
        let zone = try systemZone(site.zone)
        let schedule = try Schedule(calendar: LightingCalendar(id: "c", rules: [], defaultProgram: "city-default"), programs: [dimmingProgram()])
        let solar = SolarCalculator(location: location)
        let firstDay = LocalDate(year: 2025, month: 1, day: 1)!
        var darkAtNight: [String] = []
        var litByDay: [String] = []
        var dimmedChecks = 0
        for offset in 0..<365 {
            let day = firstDay.adding(days: offset)
            let noon = LocalTimeConversion.instant(on: day, at: TimeOfDay(hours: 12, minutes: 0)!, in: zone)
            let nextNoon = LocalTimeConversion.instant(on: day.adding(days: 1), at: TimeOfDay(hours: 12, minutes: 0)!, in: zone)
            // The night as the solar calculator sees it, independently of the schedule.
            // Transition days near the polar circles have only one of the two events.
            let set = solar.firstTime(of: .sunset, from: noon, to: nextNoon)
            let rise = solar.firstTime(of: .sunrise, from: noon, to: nextNoon)
            let sunDownAtNoon = solar.elevationDegrees(at: noon) < -0.833
            let nightStart: Date? = set.map { $0.addingTimeInterval(600) } ?? (sunDownAtNoon ? noon : nil)
            let nightEnd: Date? = nightStart == nil ? nil : (rise.map { $0.addingTimeInterval(-600) } ?? nextNoon)
            var instants: [Date] = []
            // Hourly, with a phase that moves 7 minutes a day so that over the year every
            // minute of the hour is visited; plus the exact night boundaries.
            var t = noon.addingTimeInterval(Double(offset * 7 % 60) * 60)
            while t < nextNoon {
                instants.append(t)
                t = t.addingTimeInterval(3600)
            }
            if let nightStart, let nightEnd, nightStart < nightEnd {
                instants += [nightStart, nightEnd.addingTimeInterval(-1)]
                // Just outside the night, when its edges are real sunset/sunrise in this lighting day.
                if set != nil { instants.append(nightStart.addingTimeInterval(-60)) }
                if rise != nil { instants.append(nightEnd) }
            }
            for instant in instants {
                let level = schedule.level(at: instant, location: location, timeZone: zone)
                let label = "\(site.name) \(ISO8601DateFormatter().string(from: instant)) → \(level.levelPercent) % (\(level.explanation))"
                if let nightStart, let nightEnd, instant >= nightStart, instant < nightEnd {
                    if level.levelPercent < 60 { darkAtNight.append(label) }
                    // Midnight dimming: 23:00…05:00 local is 60 %.
                    let local = LocalTimeConversion.local(instant, in: zone).secondsSinceMidnight
                    if local >= 23 * 3600 + 300 || local < 5 * 3600 {
                        if level.levelPercent != 60 { darkAtNight.append("not dimmed: " + label) }
                        dimmedChecks += 1
                    }
                } else if nightStart == nil || instant < nightStart! || instant >= nightEnd! {
                    if level.levelPercent != 0 { litByDay.append(label) }
                }
            }
        }
        #expect(darkAtNight.isEmpty, "\(darkAtNight.prefix(5))")
        #expect(litByDay.isEmpty, "\(litByDay.prefix(5))")
        if site.latitude < 60 { #expect(dimmedChecks > 400) }
    }

    @Test("switch times across the DST changes: 23:00 and 05:00 stay at local wall-clock time")
    func dstSwitchTimes() throws {
        let schedule = try Schedule(calendar: LightingCalendar(id: "c", rules: [], defaultProgram: "city-default"), programs: [dimmingProgram()])
        for (zoneName, days) in [("Europe/Berlin", ["2025-03-29", "2025-03-30", "2025-10-25", "2025-10-26"]),
                                 ("Australia/Sydney", ["2025-04-05", "2025-04-06", "2025-10-04", "2025-10-05"])] {
            let zone = try! systemZone(zoneName)
            let location = zoneName == "Europe/Berlin" ? berlinLocation : GeoLocation(latitudeDegrees: -33.8688, longitudeDegrees: 151.2093)!
            for text in days {
                let switches = schedule.switches(forLightingDay: LocalDate(iso: text)!, location: location, timeZone: zone)
                let fixed = switches.filter { if case .fixed = $0.switchPoint.at { true } else { false } }
                let localTimes = fixed.map { Int(LocalTimeConversion.local($0.instant, in: zone).secondsSinceMidnight) / 60 }
                #expect(localTimes == [23 * 60, 5 * 60], "\(zoneName) \(text): \(localTimes)")
                // Exactly one start and one end of the night.
                #expect(switches.filter { $0.note == "start of active period" }.count == 1)
                #expect(switches.filter { $0.note == "end of active period" }.count == 1)
                // The 23:00 → 05:00 night is 5, 6 or 7 hours long depending on the DST change.
                let hours = fixed[1].instant.timeIntervalSince(fixed[0].instant) / 3600
                #expect([5.0, 6.0, 7.0].contains(hours))
            }
        }
    }
}
