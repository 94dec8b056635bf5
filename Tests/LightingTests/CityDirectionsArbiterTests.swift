import Foundation
import Testing
import TestSupport
@testable import Lighting

/// The priority of docs/downlink.md: technician override > city override > city schedule (or
/// its default light state) > local schedule > fail-safe; the city's layers need trusted time.
@Suite("LightArbiter with the city's desired state")
struct CityDirectionsArbiterTests {
    func localSchedule() throws -> Schedule {
        try Schedule(calendar: LightingCalendar(id: "c", rules: [], defaultProgram: "city-default"), programs: [dimmingProgram()])
    }

    func citySchedule(level: Int) throws -> Schedule {
        try Schedule(calendar: LightingCalendar(id: "city", rules: [], defaultProgram: "flat"),
                     programs: [ControlProgram(id: "flat", switchPoints: [SwitchPoint(at: SwitchTime("12:00")!, levelPercent: level)])])
    }

    func cityOverride(level: Int, from: Date, to: Date) -> LightOverride {
        LightOverride(levelPercent: level, start: from, expiry: to, reason: "festival", source: .upstream("city v12"))
    }

    func context(clock: Bool = true, technician: OverrideState = OverrideState(), city: CityDirections) throws -> LightContext {
        LightContext(schedule: try localSchedule(), location: berlinLocation, timeZone: berlinZone, clockSynchronised: clock,
                     overrides: technician, city: city)
    }

    @Test func eachLayerBeatsTheOnesBelow() throws {
        let now = local("2025-06-10", "23:30")
        let override = cityOverride(level: 90, from: now.addingTimeInterval(-60), to: now.addingTimeInterval(3600))
        var city = CityDirections(schedule: try citySchedule(level: 30), scheduleLabel: "city schedule v7", override: override,
                                  overrideLabel: "city override v12")

        // City override over the city schedule.
        let overridden = LightArbiter.decide(now: now, context: try context(city: city))
        #expect(overridden.source == .cityOverride)
        #expect(overridden.targetLevelPercent == 90)
        #expect(overridden.reason.hasPrefix("city override v12 by upstream (city v12)"))

        // A technician's override over the city override.
        var technician = OverrideState()
        try technician.apply(OverrideRequest(levelPercent: 0, source: .technician("alice")), now: now, policy: OverridePolicy())
        #expect(LightArbiter.decide(now: now, context: try context(technician: technician, city: city)).source == .override)

        // After the city override's expiry: the city schedule.
        let later = LightArbiter.decide(now: now.addingTimeInterval(3600), context: try context(city: city))
        #expect(later.source == .citySchedule)
        #expect(later.targetLevelPercent == 30)
        #expect(later.reason.hasPrefix("city schedule v7: program 'flat'"))

        // Without a city calendar, its default light state; without either, the local schedule.
        city.schedule = nil
        city.override = nil
        city.defaultLightStatePercent = 70
        let fallback = LightArbiter.decide(now: now, context: try context(city: city))
        #expect(fallback.source == .citySchedule)
        #expect(fallback.targetLevelPercent == 70)
        city.defaultLightStatePercent = nil
        #expect(LightArbiter.decide(now: now, context: try context(city: city)).source == .program)
    }

    @Test func withoutTrustedTimeTheCityIsIgnored() throws {
        let now = local("2025-06-10", "23:30")
        let city = CityDirections(schedule: try citySchedule(level: 0),
                                  override: cityOverride(level: 0, from: now.addingTimeInterval(-60), to: now.addingTimeInterval(3600)))
        let decision = LightArbiter.decide(now: now, context: try context(clock: false, city: city))
        #expect(decision.source == .failSafeOn)
        #expect(decision.targetLevelPercent == 100)
    }
}
