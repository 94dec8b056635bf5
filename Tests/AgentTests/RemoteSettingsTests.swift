import Downlink
import Foundation
import Clocks
import ControlProtocol
import Hardware
import Telemetry
import Synchronization
import Testing
import Uplink
@testable import Agent
@testable import LampdConfig

/// The remote configuration of the city's scheduler document (docs/downlink.md "Configuration"),
/// put in effect on the board: the uplink's batch interval and byte cap, each poller's period.
@Suite("Remote configuration in effect")
struct RemoteSettingsTests {
    typealias City = CityFixture

    static func schedule(version: UInt64, configuration: RemoteConfiguration?, issued: String = "2025-12-10T19:00:00Z") -> [UInt8] {
        let issuedAt = City.seconds(issued)
        let state = DesiredState(deviceID: "p", version: version, issuedAtSeconds: issuedAt, expiresAtSeconds: issuedAt + 30 * 86_400,
                                 defaultLightStatePercent: 100, configuration: configuration)
        return DesiredStateSigner(key: City.scheduler).sign(state)
    }

    @Test func onlySourcesTheBoardPollsMayBeNamed() {
        let settings = RemoteSettings(pollableNames: ["meter", "traffic_box"])
        #expect(settings.problem(with: RemoteConfiguration(batchIntervalSeconds: 300)) == nil)
        #expect(settings.problem(with: RemoteConfiguration(samplingPeriodSeconds: ["meter": 5, "traffic_box": 1])) == nil)
        let problem = settings.problem(with: RemoteConfiguration(samplingPeriodSeconds: ["meter": 5, "pump": 9, "boiler": 1]))
        #expect(problem == "samplingPeriodSeconds names \"boiler\", \"pump\", which this board does not poll (it polls: meter, traffic_box)")
        #expect(RemoteSettings(pollableNames: []).problem(with: RemoteConfiguration(samplingPeriodSeconds: ["x": 1]))?.hasSuffix("(it polls: none)") == true)
    }

    @Test func aSchedulerDocumentPutsItsConfigurationInEffectAndANewerOneWithoutItTakesItBack() async throws {
        let clock = LightingTestClock("2025-12-10T20:00:00Z")
        let pole = try await Pole.make(clock: clock)
        let changes = Counter()
        let settings = RemoteSettings(pollableNames: ["meter"], onChange: { changes.add() })
        let keys = try City.keysDirectory()
        func applier() -> DesiredStateApplier {
            DesiredStateApplier(deviceID: "p", configuration: DownlinkConfiguration(keysDirectory: keys), stateDirectory: pole.directory,
                                lighting: pole.service, settings: settings, sink: pole.sink, timeSource: pole.clock, logger: silentLogger)
        }
        let first = applier()
        await first.restore()
        #expect(settings.configuration == nil)

        let remote = RemoteConfiguration(batchIntervalSeconds: 300, maxBytesPerDay: 50_000, samplingPeriodSeconds: ["meter": 10])
        try await first.apply(Self.schedule(version: 3, configuration: remote), via: "test")
        #expect(settings.batchInterval == .seconds(300))
        #expect(settings.maxBytesPerDay == 50_000)
        #expect(settings.samplingPeriod("meter") == .seconds(10))
        #expect(settings.samplingPeriod("other") == nil)
        #expect(await first.status().applied.first?.summary == "default light state 100 %, configuration: batch interval 300 s, byte cap 50000 B/day, polling meter 10 s")
        #expect(changes.value >= 2)

        // A source this board does not poll: refused whole, nothing of it in effect.
        do {
            try await first.apply(Self.schedule(version: 4, configuration: RemoteConfiguration(batchIntervalSeconds: 60, samplingPeriodSeconds: ["pump": 1])), via: "test")
            Issue.record("a document naming an unknown source was applied")
        } catch {
            #expect(error.reason == .unknownSetting)
            #expect(error.message.contains("\"pump\""))
        }
        #expect(settings.batchInterval == .seconds(300))
        #expect(pole.events("downlink.refused").last?.message.hasPrefix("unknownSetting: version 4") == true)

        // After a restart the stored document puts it in effect again.
        settings.set(nil)
        await applier().restore()
        #expect(settings.samplingPeriod("meter") == .seconds(10))

        // A newer document without configuration: back to lampd.toml's values.
        try await first.apply(Self.schedule(version: 5, configuration: nil), via: "test")
        #expect(settings.configuration == nil)
    }

    @Test func aStoredConfigurationNamingASourceLampdTomlNoLongerHasKeepsTheRest() async throws {
        let clock = LightingTestClock("2025-12-10T20:00:00Z")
        let pole = try await Pole.make(clock: clock)
        let keys = try City.keysDirectory()
        let before = RemoteSettings(pollableNames: ["meter", "pump"])
        let applier = DesiredStateApplier(deviceID: "p", configuration: DownlinkConfiguration(keysDirectory: keys), stateDirectory: pole.directory,
                                          lighting: pole.service, settings: before, sink: pole.sink, timeSource: pole.clock, logger: silentLogger)
        try await applier.apply(Self.schedule(version: 2, configuration: RemoteConfiguration(batchIntervalSeconds: 120, samplingPeriodSeconds: ["meter": 10, "pump": 5])), via: "test")
        // lampd.toml changed: the pump is gone.
        let after = RemoteSettings(pollableNames: ["meter"])
        let restarted = DesiredStateApplier(deviceID: "p", configuration: DownlinkConfiguration(keysDirectory: keys), stateDirectory: pole.directory,
                                            lighting: pole.service, settings: after, sink: pole.sink, timeSource: pole.clock, logger: silentLogger)
        await restarted.restore()
        #expect(after.batchInterval == .seconds(120))
        #expect(after.samplingPeriod("meter") == .seconds(10))
        #expect(after.samplingPeriod("pump") == nil)
        #expect(await restarted.status().applied.map(\.version) == [2], "the schedule stays in effect")
        #expect(pole.events("downlink.setting-unused").count == 1)
    }

    /// A period set by the city counts from the next wait, and the watchdog's allowed silence follows it.
    @Test func aPollerTakesTheCitysPeriodAndTheWatchdogItsSilence() async throws {
        let clock = SimulatedClock()
        let board = await SimulatedBoard(clock: clock)
        let heartbeats = LoopHeartbeats()
        let settings = RemoteSettings(pollableNames: ["meter"])
        let device = try sdm120(unit: 1)
        let poller = try ModbusDevicePoller(device: device, client: board.modbus, sink: RecordingSink(), timeSource: TestTimeSource(),
                                            clock: clock, heartbeats: heartbeats, remote: settings, logger: silentLogger)
        let task = Task { await poller.run() }
        defer { task.cancel() }
        func requests() async -> Int { await board.modbus.log.count }
        try await clock.waitForSleepers()
        let perPoll = await requests()
        #expect(perPoll > 0)

        settings.set(RemoteConfiguration(samplingPeriodSeconds: ["meter": 2]))
        clock.advance(by: device.pollInterval)  // the wait begun under lampd.toml's period ends
        try await clock.waitForSleepers()
        #expect(await requests() == 2 * perPoll)
        clock.advance(by: .seconds(2))
        try await clock.waitForSleepers()
        #expect(await requests() == 3 * perPoll, "the city's 2 s period")

        // An hour: no poll for 1000 s is not a stalled loop.
        settings.set(RemoteConfiguration(samplingPeriodSeconds: ["meter": 3600]))
        clock.advance(by: .seconds(2))
        try await clock.waitForSleepers()
        #expect(await requests() == 4 * perPoll)
        clock.advance(by: .seconds(1000))
        #expect(heartbeats.stalled(atSeconds: clock.now.seconds).isEmpty)
        #expect(await requests() == 4 * perPoll)
    }

    @Test func theUplinkTakesTheCitysBatchIntervalAndByteCap() async throws {
        let fixture = try await UplinkFixture(readings: 10)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        let settings = RemoteSettings(pollableNames: [])
        // lampd.toml: a batch an hour (10 readings never fill a batch); the city: every second.
        let service = fixture.service(receiver, { $0.batchInterval = .seconds(3600); $0.maxBytesPerDay = nil }, remote: settings)
        settings.set(RemoteConfiguration(batchIntervalSeconds: 1, maxBytesPerDay: 20_000))
        #expect(service.status().maxBytesPerDay == 20_000)
        try await fixture.run(service) { (try? await fixture.pending()) == 0 }
        #expect(receiver.state.withLock { $0.records.count } == 10)
    }
}

/// Counts calls from any thread.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
