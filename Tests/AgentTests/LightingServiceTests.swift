import ControlProtocol
@testable import LampdConfig
import Foundation
import Hardware
import Lighting
import Logging
import Synchronization
import Telemetry
import Testing
@testable import Agent
import CivilTime
import Clocks

/// Wall clock, kernel sync flag and monotonic time that a test moves by hand; the simulated
/// board runs on the same monotonic seconds.
final class LightingTestClock: TimeSource {
    private let state: Mutex<(utc: Date, boot: Double, synchronised: Bool)>
    init(_ iso: String, synchronised: Bool = true) {
        state = Mutex((ISO8601DateFormatter().date(from: iso)!, 1000, synchronised))
    }
    func now() -> Timestamp {
        state.withLock { s in
            Timestamp(utcNanoseconds: Int64(s.utc.timeIntervalSince1970 * 1e9), bootNanoseconds: Int64(s.boot * 1e9),
                      bootID: Timestamp.unknownBootID, isClockSynchronised: s.synchronised)
        }
    }
    /// The same monotonic time as a `MonotonicClock`, for the simulated board (starts at boot 1000 s too).
    let monotonic = SimulatedClock(now: .seconds(1000))
    var bootSeconds: Double { state.withLock { $0.boot } }
    func advance(seconds: Double) {
        state.withLock { $0.utc += seconds; $0.boot += seconds }
        monotonic.advance(by: .seconds(seconds))
    }
    func set(_ iso: String) {
        let target = ISO8601DateFormatter().date(from: iso)!
        let step = state.withLock { s in
            let step = max(0, target.timeIntervalSince(s.utc))
            s.boot += step
            s.utc = target
            return step
        }
        monotonic.advance(by: .seconds(step))
    }
    func setSynchronised(_ flag: Bool) { state.withLock { $0.synchronised = flag } }
}

/// A simulated pole: board, lamp output, lighting service, recording sink, all on one clock.
struct Pole {
    let clock: LightingTestClock
    let board: SimulatedBoard
    let output: any LampOutput
    let service: LightingService
    let sink: RecordingSink
    let directory: String

    static let configurationText = """
        [board]
        kind = "simulated"
        id = "p"
        [site]
        latitude = 52.52
        longitude = 13.405
        timezone = "Europe/Berlin"
        [lighting]
        output = "relay+pwm"
        [lighting.relay]
        chip = "gpiochip0"
        line = "LAMP_RELAY"
        [lighting.pwm]
        chip = 0
        channel = 0
        min_level = 10
        [lighting.lamp]
        nominal_watts = 60
        minimum_watts = 6
        standby_watts = 0.5
        warm_up = "30s"
        [lighting.program]
        from = "sunset+00:10"
        to = "sunrise-00:10"
        [lighting.program.switch_points]
        "23:00" = { level = 60, ramp = "5m" }
        "05:00" = 100
        """

    static func configuration(_ text: String = configurationText) throws -> LightingConfiguration {
        try #require(try LampdConfiguration.parse(text).lighting)
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "lampd-lighting-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func make(clock: LightingTestClock, directory: String = temporaryDirectory(),
                     configuration: LightingConfiguration? = nil, problem: String? = nil) async throws -> Pole {
        let configuration = try configuration ?? Self.configuration()
        let board = await SimulatedBoard(clock: clock.monotonic)
        let last = LightingService.lastCommanded(directory: directory)
        let output = try await LampOutputs.open(configuration.output, board: board, buses: [:], initiallyOn: (last?.levelPercent ?? 100) > 0)
        let sink = RecordingSink()
        let service = LightingService(configuration: configuration, configurationProblem: problem, output: output,
                                      stateDirectory: directory, sink: sink, timeSource: clock, logger: silentLogger)
        return Pole(clock: clock, board: board, output: output, service: service, sink: sink, directory: directory)
    }

    /// Reads the simulated meter as the sampling path would and hands it to the service.
    func feedMeter() {
        let meter = board.meter()
        let time = clock.now()
        for (channel, register) in [("meter.power", SimulatedEnergyMeter.Register.activePower), ("meter.voltage", .voltage),
                                    ("meter.power-factor", .powerFactor), ("meter.energy", .totalActiveEnergy)] {
            LightingTeeSink(next: sink, feed: service.feed).record(
                Reading(channel: ChannelName(rawValue: channel)!, value: .number(meter.value(of: register)), time: time))
        }
    }

    @discardableResult
    func step() async -> LightingSnapshot { await service.step(at: clock.now()) }

    func events(_ kind: String) -> [Event] { sink.events.filter { $0.kind == kind } }
}

@Suite("Lighting service")
struct LightingServiceTests {
    @Test func simulatedLampFollowsADuskToDawnProgramThroughANight() async throws {
        // Berlin, 10 December 2025: sunset 15:53, sunrise 08:10 (CET).
        let clock = LightingTestClock("2025-12-10T11:00:00Z")  // 12:00 local
        let pole = try await Pole.make(clock: clock)
        var seen: [(String, Bool, Double)] = []
        for _ in 0..<(24 * 12) {  // every 5 minutes for 24 h
            let snapshot = await pole.step()
            let lamp = pole.board.lamp()
            let local = LocalTimeConversion.local(clock.now().date, in: try! TimeZoneDatabase.zone(named: "Europe/Berlin"))
            let hhmm = String(format: "%02d:%02d", Int(local.secondsSinceMidnight) / 3600, Int(local.secondsSinceMidnight) / 60 % 60)
            seen.append((hhmm, lamp.relayClosed, lamp.levelPercent))
            #expect(snapshot.source == .program)
            clock.advance(seconds: 300)
        }
        func at(_ time: String) -> (Bool, Double)? { seen.first { $0.0 == time }.map { ($0.1, $0.2) } }
        #expect(at("15:00")?.0 == false)
        #expect(at("16:10").map { $0.0 && $0.1 == 100 } == true)
        #expect(at("22:55").map { $0.0 && $0.1 == 100 } == true)
        #expect(at("23:30").map { $0.0 && $0.1 == 60 } == true)
        #expect(at("04:55").map { $0.0 && $0.1 == 60 } == true)
        #expect(at("05:05").map { $0.0 && $0.1 == 100 } == true)
        #expect(at("08:05")?.0 == false)
        // One lamp.level event per change of target: off (first decision), 100, 60, 100, off.
        let levels = pole.events("lamp.level").compactMap { event -> Double? in
            if case .number(let v)? = event.value { return v } else { return nil }
        }
        #expect(levels == [0, 100, 60, 100, 0])
        #expect(pole.events("lamp.level")[2].message.contains("switch point 23:00"))
        // The meter saw it: lit at 60 % around 38 W.
        let snapshot = await pole.step()
        #expect(snapshot.nextSwitches.count == 4)
        #expect(snapshot.switchOnCount == 1)
        #expect(abs(snapshot.burnHours - 15.9) < 0.3)
    }

    @Test func relayOnlyOutputFollowsTheProgram() async throws {
        let text = Pole.configurationText
            .replacingOccurrences(of: "output = \"relay+pwm\"", with: "output = \"relay\"")
            .replacingOccurrences(of: "[lighting.pwm]\nchip = 0\nchannel = 0\nmin_level = 10\n", with: "")
        let clock = LightingTestClock("2025-12-10T22:00:00Z")  // 23:00 local
        let pole = try await Pole.make(clock: clock, configuration: try Pole.configuration(text))
        clock.advance(seconds: 600)
        await pole.step()
        #expect(pole.board.lamp().relayClosed)
        #expect(try await pole.output.readBack() == LampOutputState(switchedOn: true, levelPercent: 100))
        clock.set("2025-12-11T12:00:00Z")
        await pole.step()
        #expect(!pole.board.lamp().relayClosed)
    }

    @Test func restartRestoresTheLastCommandedStateBeforeAnythingElse() async throws {
        let directory = Pole.temporaryDirectory()
        let clock = LightingTestClock("2025-12-10T22:30:00Z")  // 23:30 local: 60 %
        let first = try await Pole.make(clock: clock, directory: directory)
        await first.step()
        #expect(first.board.lamp().levelPercent == 60)
        let stateFile = try String(contentsOfFile: directory + "/lamp-state.json", encoding: .utf8)
        #expect(stateFile.contains("\"levelPercent\" : 60"))

        // lampd restarts (the clock has not synchronised yet): a fresh board, relay opened at the saved state.
        clock.advance(seconds: 60)
        clock.setSynchronised(false)
        let second = try await Pole.make(clock: clock, directory: directory)
        #expect(second.board.lamp().relayClosed)
        await second.service.restore()
        #expect(try await second.output.readBack() == LampOutputState(switchedOn: true, levelPercent: 60))
        #expect(second.sink.events.first?.kind == "lamp.restored")
        // Then the arbiter: no trusted clock, no photocell → fail-safe 100 %, never lower.
        let snapshot = await second.step()
        #expect(snapshot.source == .failSafeOn)
        #expect(snapshot.levelPercent == 100)
        #expect(snapshot.reason.contains("last commanded 60 %"))
    }

    @Test func noTrustedTimeOrNoScheduleFallsBackToTheDocumentedFailSafe() async throws {
        var configuration = try Pole.configuration()
        configuration.schedule = nil
        // No schedule, clock synchronised: the astro clock decides (lit at night, off by day).
        let clock = LightingTestClock("2025-12-10T23:00:00Z")  // midnight local
        let pole = try await Pole.make(clock: clock, configuration: configuration, problem: "lampd.toml line 3: broken")
        var snapshot = await pole.step()
        #expect(snapshot.source == .failSafeAstroClock)
        #expect(pole.board.lamp().relayClosed && pole.board.lamp().levelPercent == 100)
        #expect(snapshot.reason.contains("lampd.toml line 3: broken"))
        clock.set("2025-12-11T11:00:00Z")
        snapshot = await pole.step()
        #expect(snapshot.targetLevelPercent == 0)

        // Clock not synchronised: no photocell → on, whatever the (untrusted) clock says.
        clock.setSynchronised(false)
        snapshot = await pole.step()
        #expect(snapshot.source == .failSafeOn)
        #expect(pole.board.lamp().relayClosed)
        #expect(pole.events("lamp.level").last?.severity == .warning)

        // With a photocell reading, it decides.
        pole.service.feed.offer(Reading(channel: ChannelName(rawValue: "photocell")!, value: .boolean(false), time: clock.now()))
        #expect(pole.service.feed.photocellChannel == nil)  // not configured: ignored
    }

    @Test func photocellAndFailSafeLevelWhenTheClockIsNotTrusted() async throws {
        let text = Pole.configurationText.replacingOccurrences(of: "output = \"relay+pwm\"",
                                                               with: "output = \"relay+pwm\"\nfail_safe_level = 80\nphotocell_channel = \"photocell\"")
        let clock = LightingTestClock("2025-12-10T23:00:00Z", synchronised: false)
        let pole = try await Pole.make(clock: clock, configuration: try Pole.configuration(text))
        var snapshot = await pole.step()
        #expect(snapshot.levelPercent == 80)
        #expect(snapshot.reason.contains("fail_safe_level"))
        #expect(pole.board.lamp().levelPercent == 80)
        pole.service.feed.offer(Reading(channel: ChannelName(rawValue: "photocell")!, value: .boolean(false), time: clock.now()))
        snapshot = await pole.step()
        #expect(snapshot.source == .failSafePhotocell && snapshot.levelPercent == 0)
        pole.service.feed.offer(Reading(channel: ChannelName(rawValue: "photocell")!, value: .boolean(true), time: clock.now()))
        snapshot = await pole.step()
        #expect(snapshot.levelPercent == 80)
    }

    @Test func ledFailureIsRaisedOnceAfterWarmUpAndClearedOnce() async throws {
        let clock = LightingTestClock("2025-12-10T21:00:00Z")  // 22:00 local: 100 %
        let pole = try await Pole.make(clock: clock)
        await pole.step()
        clock.advance(seconds: 10); pole.feedMeter(); await pole.step()
        pole.board.setLampFault(.ledFailure, active: true)
        clock.advance(seconds: 5); pole.feedMeter(); await pole.step()
        #expect(pole.events("lamp.failure").isEmpty)  // still warming up (30 s)
        for _ in 0..<5 { clock.advance(seconds: 10); pole.feedMeter(); await pole.step() }
        #expect(pole.events("lamp.failure").count == 1)
        #expect(pole.events("lamp.failure").first?.severity == .alarm)
        #expect(await pole.step().activeFaults == [.lampFailure])
        pole.board.setLampFault(.ledFailure, active: false)
        for _ in 0..<3 { clock.advance(seconds: 10); pole.feedMeter(); await pole.step() }
        #expect(pole.events("lamp.failure").count == 1)
        #expect(pole.events("lamp.failure.cleared").count == 1)
        #expect(pole.sink.events.filter { $0.kind.hasPrefix("lamp.") && $0.kind != "lamp.level" && !$0.kind.hasPrefix("lamp.failure") }.isEmpty)
    }

    @Test func stuckRelayByDayIsADayBurnerOnceAndClearedOnce() async throws {
        let clock = LightingTestClock("2025-12-10T11:00:00Z")  // noon: off
        let pole = try await Pole.make(clock: clock)
        await pole.step()
        #expect(!pole.board.lamp().relayClosed)
        pole.board.setLampFault(.stuckOn, active: true)
        for _ in 0..<6 { clock.advance(seconds: 10); pole.feedMeter(); await pole.step() }
        #expect(pole.events("lamp.day-burner").count == 1)
        pole.board.setLampFault(.stuckOn, active: false)
        for _ in 0..<3 { clock.advance(seconds: 10); pole.feedMeter(); await pole.step() }
        #expect(pole.events("lamp.day-burner").count == 1)
        #expect(pole.events("lamp.day-burner.cleared").count == 1)
    }

    @Test func countersAndRaisedFaultsSurviveARestart() async throws {
        let directory = Pole.temporaryDirectory()
        let clock = LightingTestClock("2025-12-10T16:00:00Z")  // 17:00 local, lit
        let first = try await Pole.make(clock: clock, directory: directory)
        for _ in 0..<13 { await first.step(); clock.advance(seconds: 300); first.feedMeter() }
        first.board.setLampFault(.ledFailure, active: true)
        for _ in 0..<5 { clock.advance(seconds: 10); first.feedMeter(); await first.step() }
        #expect(first.events("lamp.failure").count == 1)
        let before = await first.step()
        await first.service.shutdown()
        #expect(abs(before.burnHours - 3950.0 / 3600) < 0.001)  // 13 × 5 min + 5 × 10 s
        #expect(before.energyWattHours > 50)

        let second = try await Pole.make(clock: clock, directory: directory)
        second.board.setLampFault(.ledFailure, active: true)
        await second.service.restore()
        for _ in 0..<5 { clock.advance(seconds: 10); second.feedMeter(); await second.step() }
        let after = await second.step()
        #expect(after.switchOnCount == before.switchOnCount)
        #expect(after.burnHours >= before.burnHours)
        #expect(after.energyWattHours >= before.energyWattHours)
        #expect(second.events("lamp.failure").isEmpty)  // already raised before the restart
    }

    @Test func overridesAreAppliedPersistedAndCleared() async throws {
        let clock = LightingTestClock("2025-12-10T21:00:00Z")  // 22:00 local
        let pole = try await Pole.make(clock: clock)
        await pole.step()
        let accepted = try await pole.service.applyOverride(OverrideRequest(levelPercent: 0, reason: "cable work", source: .technician("alice")))
        #expect(accepted.expiry == clock.now().date.addingTimeInterval(2 * 3600))
        #expect(!pole.board.lamp().relayClosed)
        let snapshot = try #require(pole.service.status.snapshot())
        #expect(snapshot.source == .override && snapshot.reason.contains("technician alice"))
        #expect(try String(contentsOfFile: pole.directory + "/lamp-state.json", encoding: .utf8).contains("alice"))
        #expect(pole.events("lamp.override").count == 1)

        await #expect(throws: LightingError.self) {
            try await pole.service.applyOverride(OverrideRequest(levelPercent: 150, source: .technician("bob")))
        }
        await pole.service.clearOverride(by: "technician alice")
        #expect(pole.board.lamp().relayClosed)
        // No NTP (a pole whose network is down): upstream overrides cannot be timed ...
        clock.setSynchronised(false)
        await pole.step()
        do {
            try await pole.service.applyOverride(OverrideRequest(levelPercent: 0, source: .upstream("cms-42")))
            Issue.record("expected a refusal")
        } catch {
            #expect(error.code == "clock-unsynchronised")
        }
        // ... but the technician at the pole can, timed on the board's own clock.
        let timed = try await pole.service.applyOverride(OverrideRequest(levelPercent: 0, reason: "test", source: .technician("alice")))
        #expect(timed.timedOnUnsynchronisedClock == true)
        #expect(!pole.board.lamp().relayClosed)
        #expect(pole.service.status.snapshot()?.reason.contains("timed on the board's clock") == true)
        clock.advance(seconds: 60)
        await pole.step()
        #expect(!pole.board.lamp().relayClosed)
        // NTP synchronises the clock: the override ends, the program (lit at 22:00) decides again.
        clock.setSynchronised(true)
        await pole.step()
        #expect(pole.board.lamp().relayClosed)
        #expect(pole.service.status.snapshot()?.source == .program)
        #expect(pole.events("lamp.override-cleared").last?.message.contains("the clock was synchronised") == true)
    }

    @Test func stoppingLeavesTheLampAsCommanded() async throws {
        let clock = LightingTestClock("2025-12-10T21:00:00Z")
        let pole = try await Pole.make(clock: clock)
        let task = Task { try await pole.service.run() }
        for _ in 0..<100 where pole.service.status.snapshot() == nil { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        _ = try? await task.value
        #expect(pole.board.lamp().relayClosed)
        #expect(FileManager.default.fileExists(atPath: pole.directory + "/lamp-counters.json"))
    }

    /// The step loop waits and beats on the injected clock: advancing it runs the next step at
    /// once, and the heartbeat carries the clock's time, so the watchdog sees no stall.
    @Test func theStepLoopWaitsAndBeatsOnTheInjectedClock() async throws {
        let clock = LightingTestClock("2025-12-10T21:00:00Z")
        let heartbeats = LoopHeartbeats()
        let configuration = try Pole.configuration()
        let board = await SimulatedBoard(clock: clock.monotonic)
        let output = try await LampOutputs.open(configuration.output, board: board, buses: [:], initiallyOn: true)
        let service = LightingService(configuration: configuration, output: output, stateDirectory: Pole.temporaryDirectory(),
                                      sink: RecordingSink(), timeSource: clock, clock: clock.monotonic, heartbeats: heartbeats,
                                      logger: silentLogger)
        let task = Task { try await service.run() }
        defer { task.cancel() }
        try await clock.monotonic.waitForSleepers()  // the first step is taken; the loop waits for the next
        clock.advance(seconds: 3600)  // longer than any step interval and the loop's heartbeat limit
        try await clock.monotonic.waitForSleepers()  // stepped, beat, waits again
        #expect(heartbeats.stalled(atSeconds: clock.monotonic.now.seconds).isEmpty)
    }
}
