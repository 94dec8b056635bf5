import ControlProtocol
@testable import LampdConfig
import Foundation
import Telemetry
import Testing
@testable import Agent

@Suite("The daemon's self-test")
struct DaemonSelfTestTests {
    let time = TestTimeSource()
    let telemetry = RecentTelemetry(forwardingTo: RecordingSink())
    let answers = ModbusDeviceAnswers()
    let heartbeats = LoopHeartbeats()

    func selfTest(notifier: SystemdNotifier = SystemdNotifier(socketPath: nil)) throws -> DaemonSelfTest {
        let configuration = try LampdConfiguration.parse("""
            [board]
            kind = "live"
            id = "p"
            [[modbus.buses]]
            name = "rs485"
            rtu = "/dev/ttyS1"
            [[modbus.devices]]
            name = "meter"
            bus = "rs485"
            unit = 3
            profile = "eastron-sdm120"
            """)
        return DaemonSelfTest(configuration: configuration, telemetry: telemetry, answers: answers, heartbeats: heartbeats,
                              notifier: notifier, timeSource: time, started: .now - .seconds(600))
    }

    func check(_ name: String, in checks: [SelfTestCheck]) throws -> SelfTestCheck {
        try #require(checks.first { $0.name == name }, "no check \(name) in \(checks.map(\.name))")
    }

    func record(_ channel: String, _ value: Double, _ unit: SenMLUnit) {
        telemetry.record(Reading(channel: ChannelName(rawValue: channel)!, value: .number(value), unit: unit, time: time.now()))
    }

    @Test func aUnitThatAnsweredPassesOneThatDidNotFailsWithTheReason() async throws {
        let test = try selfTest()
        #expect(try check("modbus.meter", in: await test.run()).outcome == .fail, "never polled in 10 minutes")
        answers.record("meter", answered: true, atSeconds: time.now().utcSeconds - 4)
        let passed = try check("modbus.meter", in: await test.run())
        #expect(passed.outcome == .pass)
        #expect(passed.detail == "unit 3 on bus rs485 answered 4 s ago")
        answers.record("meter", answered: true, atSeconds: time.now().utcSeconds - 4, requests: 4)
        #expect(try check("modbus.meter", in: await test.run()).detail == "unit 3 on bus rs485 answered 4 s ago in 4 requests")
        answers.record("meter", answered: false, atSeconds: time.now().utcSeconds, failure: "timed out after 500 ms")
        let failed = try check("modbus.meter", in: await test.run())
        #expect(failed.outcome == .fail)
        #expect(failed.detail.contains("did not answer: timed out after 500 ms — check wiring"))
    }

    @Test func theMeterIsJudgedOnVoltageFrequencyAndEnergy() async throws {
        let test = try selfTest()
        #expect(try check("meter", in: await test.run()).outcome == .skip, "no readings yet")
        record("meter.voltage", 231.2, .volt)
        record("meter.frequency", 50, .hertz)
        record("meter.energy", 1234.5, .kilowattHour)
        #expect(try check("meter", in: await test.run()).outcome == .pass)
        record("meter.voltage", 120, .volt)
        record("meter.energy", -1, .kilowattHour)
        let failed = try check("meter", in: await test.run())
        #expect(failed.outcome == .fail)
        #expect(failed.detail == "meter.energy -1 kWh is negative; meter.voltage 120 V outside 180–260 V")
    }

    @Test(arguments: [(179.9, false), (180, true), (260, true), (260.1, false)])
    func voltageBounds(volts: Double, plausible: Bool) {
        #expect((MeterPlausibility.problem(channel: "v", value: volts, unit: "V") == nil) == plausible)
    }

    @Test func aLiveBoardOutsideSystemdFailsTheWatchdogCheckAStalledLoopFails() async throws {
        let checks = try await selfTest().run()
        #expect(try check("watchdog.systemd", in: checks).outcome == .fail)
        #expect(try check("watchdog.hardware", in: checks).outcome == .skip)
        #expect(try check("loops", in: checks).outcome == .pass)
        #expect(try check("gpio", in: checks).outcome == .skip)
        heartbeats.register("lighting", maximumSilenceSeconds: 1, atSeconds: heartbeats.nowSeconds - 5)
        let stalled = try check("loops", in: await selfTest().run())
        #expect(stalled.outcome == .fail)
        #expect(stalled.detail.hasPrefix("stalled: lighting (silent"))
    }

    @Test func theClockCheckFollowsTheKernelsSyncState() async throws {
        #expect(try check("clock", in: await selfTest().run()).outcome == .pass)
    }
}
