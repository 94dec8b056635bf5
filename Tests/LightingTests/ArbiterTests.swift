import Foundation
import Testing
import TestSupport
@testable import Lighting

@Suite("Overrides")
struct OverrideTests {
    let now = iso("2025-06-10T20:00:00Z")
    let policy = OverridePolicy(defaultTechnicianDurationSeconds: 3600, maximumTechnicianDurationSeconds: 4 * 3600)

    @Test("a technician override without expiry gets the default duration")
    func defaultExpiry() throws {
        var state = OverrideState()
        let stored = try state.apply(OverrideRequest(levelPercent: 0, source: .technician("alice")), now: now, policy: policy)
        #expect(stored.expiry == now.addingTimeInterval(3600))
        #expect(state.active(at: now.addingTimeInterval(3599)) != nil)
        #expect(state.active(at: now.addingTimeInterval(3600)) == nil)  // expired: the program resumes
    }

    @Test("a technician override longer than the maximum is cut to it")
    func maximum() throws {
        var state = OverrideState()
        let stored = try state.apply(OverrideRequest(levelPercent: 0, expiry: now.addingTimeInterval(86_400), source: .technician("bob")),
                                     now: now, policy: policy)
        #expect(stored.expiry == now.addingTimeInterval(4 * 3600))
    }

    @Test("latest wins; clearing returns to the program; future start is not active yet")
    func latestWins() throws {
        var state = OverrideState()
        try state.apply(OverrideRequest(levelPercent: 30, source: .technician("alice")), now: now, policy: policy)
        try state.apply(OverrideRequest(levelPercent: 80, source: .upstream("cms-42")), now: now.addingTimeInterval(60), policy: policy)
        #expect(state.active(at: now.addingTimeInterval(120))?.levelPercent == 80)
        #expect(state.active(at: now.addingTimeInterval(120))?.expiry == nil)  // upstream: as TALQ says (none)
        state.clear()
        #expect(state.active(at: now.addingTimeInterval(120)) == nil)
        try state.apply(OverrideRequest(levelPercent: 10, start: now.addingTimeInterval(600), source: .technician("alice")), now: now, policy: policy)
        #expect(state.active(at: now.addingTimeInterval(599)) == nil)
        #expect(state.active(at: now.addingTimeInterval(600))?.levelPercent == 10)
    }

    @Test("bad requests are refused")
    func refused() {
        var state = OverrideState()
        #expect(throws: OverrideError.self) { try state.apply(OverrideRequest(levelPercent: 120, source: .technician("a")), now: now, policy: policy) }
        #expect(throws: OverrideError.self) {
            try state.apply(OverrideRequest(levelPercent: 50, expiry: now.addingTimeInterval(-1), source: .technician("a")), now: now, policy: policy)
        }
        #expect(state.current == nil)
    }

    @Test("TALQ OverrideCommand: sets, and without targetCommand clears")
    func talq() throws {
        var state = OverrideState()
        let json = #"{"targetCommand": {"state": {"name": "LevelState", "value": 40}, "reason": "override", "cmsRefId": "op-7", "expiration": "2025-06-10T23:00:00Z", "rampToLevelTime": 10}}"#
        try state.apply(talq: JSONDecoder().decode(TALQ.OverrideCommand.self, from: Data(json.utf8)), now: now, policy: policy)
        #expect(state.current?.levelPercent == 40)
        #expect(state.current?.expiry == iso("2025-06-10T23:00:00Z"))
        #expect(state.current?.source == .upstream("op-7"))
        try state.apply(talq: JSONDecoder().decode(TALQ.OverrideCommand.self, from: Data("{}".utf8)), now: now, policy: policy)
        #expect(state.current == nil)
    }
}

@Suite("LightArbiter")
struct ArbiterTests {
    func schedule() throws -> Schedule {
        try Schedule(calendar: LightingCalendar(id: "c", rules: [], defaultProgram: "city-default"), programs: [dimmingProgram()])
    }

    func context(clock: Bool = true, schedule: Schedule?, photocell: PhotocellReading? = nil, overrides: OverrideState = OverrideState(),
                 location: GeoLocation? = berlinLocation, since: Double = .infinity, last: LastCommandedState? = nil) -> LightContext {
        LightContext(schedule: schedule, configurationProblem: schedule == nil ? "lampd.toml: unknown program 'x'" : nil,
                     location: location, timeZone: berlinZone, clockSynchronised: clock, secondsSinceStart: since,
                     photocell: photocell, overrides: overrides, lastCommanded: last)
    }

    @Test("program decides when there is no override")
    func program() throws {
        let decision = LightArbiter.decide(now: local("2025-06-10", "23:30"), context: context(schedule: try schedule()))
        #expect(decision.source == .program)
        #expect(decision.levelPercent == 60)
        #expect(decision.reason == "program 'city-default' switch point 23:00 → 60 % [default program]")
    }

    @Test("override beats program, with a ramp from the last commanded level, and expires")
    func override() throws {
        var overrides = OverrideState()
        let start = local("2025-06-10", "22:00")
        try overrides.apply(OverrideRequest(levelPercent: 0, expiry: local("2025-06-10", "23:30"), rampSeconds: 100, reason: "cable work",
                                            source: .technician("alice")), now: start, policy: OverridePolicy())
        let c = context(schedule: try schedule(), overrides: overrides, last: LastCommandedState(levelPercent: 100, at: start))
        let during = LightArbiter.decide(now: start.addingTimeInterval(50), context: c)
        #expect(during.source == .override)
        #expect(during.levelPercent == 50)
        #expect(during.targetLevelPercent == 0)
        #expect(during.reason == "override by technician alice until 23:30 (cable work) → 0 %")
        let after = LightArbiter.decide(now: local("2025-06-10", "23:30"), context: c)
        #expect(after.source == .program)
        #expect(after.levelPercent == 60)
    }

    @Test("fail-safe without valid configuration: the astro clock decides")
    func noConfig() {
        let night = LightArbiter.decide(now: local("2025-06-11", "01:00"), context: context(schedule: nil))
        #expect(night.source == .failSafeAstroClock)
        #expect(night.levelPercent == 100)
        #expect(night.reason.hasPrefix("fail-safe: no valid configuration (lampd.toml: unknown program 'x'), astro clock says night"))
        let day = LightArbiter.decide(now: local("2025-06-11", "13:00"), context: context(schedule: nil))
        #expect(day.levelPercent == 0)
    }

    @Test("fail-safe with an unsynchronised clock: photocell, else ON; overrides ignored")
    func noClock() throws {
        var overrides = OverrideState()
        try overrides.apply(OverrideRequest(levelPercent: 0, source: .technician("alice")), now: local("2025-06-10", "22:00"), policy: OverridePolicy())
        let dark = LightArbiter.decide(now: local("2025-06-10", "22:30"), context: context(clock: false, schedule: try schedule(), photocell: .dark, overrides: overrides))
        #expect(dark.source == .failSafePhotocell)
        #expect(dark.levelPercent == 100)
        #expect(dark.reason == "fail-safe: clock not synchronised, photocell says dark → 100 %")
        let light = LightArbiter.decide(now: local("2025-06-10", "22:30"), context: context(clock: false, schedule: try schedule(), photocell: .light))
        #expect(light.levelPercent == 0)
        // A wrong clock that claims noon must not switch the lamp off without a photocell.
        let blind = LightArbiter.decide(now: local("2025-06-10", "13:00"),
                                        context: context(clock: false, schedule: try schedule(), since: 5, last: LastCommandedState(levelPercent: 0, at: .distantPast)))
        #expect(blind.source == .failSafeOn)
        #expect(blind.levelPercent == 100)
        #expect(blind.reason == "fail-safe: clock not synchronised (just restarted; last commanded 0 %), no photocell → 100 %")
    }

    @Test("unsynchronised clock: only a technician override timed on that clock is honoured")
    func timedOnUnsynchronisedClock() throws {
        var overrides = OverrideState()
        try overrides.apply(OverrideRequest(levelPercent: 20, source: .technician("alice")), now: local("2025-06-10", "22:00"), policy: OverridePolicy())
        overrides.markTimedOnUnsynchronisedClock()
        let timed = LightArbiter.decide(now: local("2025-06-10", "22:30"), context: context(clock: false, schedule: try schedule(), overrides: overrides))
        #expect(timed.source == .override)
        #expect(timed.levelPercent == 20)
        #expect(timed.reason.contains("timed on the board's clock"))
        // Expired on that clock (technician default 2 h): fail-safe again.
        let expired = LightArbiter.decide(now: local("2025-06-11", "00:30"), context: context(clock: false, schedule: try schedule(), overrides: overrides))
        #expect(expired.source == .failSafeOn)

        var upstream = OverrideState()
        try upstream.apply(OverrideRequest(levelPercent: 20, source: .upstream("cms")), now: local("2025-06-10", "22:00"), policy: OverridePolicy())
        upstream.markTimedOnUnsynchronisedClock()
        let ignored = LightArbiter.decide(now: local("2025-06-10", "22:30"), context: context(clock: false, schedule: try schedule(), overrides: upstream))
        #expect(ignored.source == .failSafeOn)
    }

    @Test("no configuration and no location: photocell or ON")
    func nothingKnown() {
        let decision = LightArbiter.decide(now: local("2025-06-10", "13:00"), context: context(schedule: nil, location: nil))
        #expect(decision.source == .failSafeOn)
        #expect(decision.levelPercent == 100)
    }
}
