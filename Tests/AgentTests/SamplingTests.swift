@testable import LampdConfig
import Foundation
import Hardware
import Logging
import Sampling
import Synchronization
import Telemetry
import Testing
import TestSupport
@testable import Agent
import Clocks

/// Collects what the sampling services record.
final class RecordingSink: TelemetrySink {
    private let records = Mutex<(readings: [Reading], events: [Event])>(([], []))
    func record(_ reading: Reading) { records.withLock { $0.readings.append(reading) } }
    func record(_ event: Event) { records.withLock { $0.events.append(event) } }
    var readings: [Reading] { records.withLock { $0.readings } }
    var events: [Event] { records.withLock { $0.events } }
    func clear() { records.withLock { $0 = ([], []) } }
}

/// A synchronised clock at a fixed wall time the test moves.
final class TestTimeSource: TimeSource {
    private let nanoseconds = Mutex<Int64>(1_763_900_000_000_000_000)
    func now() -> Timestamp {
        let utc = nanoseconds.withLock { $0 }
        return Timestamp(utcNanoseconds: utc, bootNanoseconds: utc - 1_763_000_000_000_000_000, bootID: Timestamp.unknownBootID, isClockSynchronised: true)
    }
    func advance(seconds: Double) { nanoseconds.withLock { $0 += Int64(seconds * 1e9) } }
}

let silentLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

func sdm120(bus: String = "b", unit: UInt8, report: String = "every-poll") throws -> ModbusDeviceConfiguration {
    let text = """
        [board]
        kind = "simulated"
        id = "p"
        [[modbus.buses]]
        name = "\(bus)"
        tcp = "127.0.0.1"
        [[modbus.devices]]
        name = "meter"
        bus = "\(bus)"
        unit = \(unit)
        profile = "eastron-sdm120"
        """
    var device = try #require(try LampdConfiguration.parse(text).modbusDevices.first)
    if report == "every-poll" {
        device.registers = device.registers.map { var register = $0; register.reporting = .everyPoll; return register }
    }
    return device
}

func values(_ readings: [Reading]) -> [String: Double] {
    Dictionary(readings.compactMap { reading in
        if case let .number(value) = reading.value { return (reading.channel.rawValue, value) }
        return nil
    }, uniquingKeysWith: { _, last in last })
}

@Suite("Sampling: Modbus devices")
struct ModbusSamplingTests {
    @Test func theMeterProfileReadsTheSimulatedBoardsMeter() async throws {
        let board = await SimulatedBoard()
        _ = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: true)
        let sink = RecordingSink()
        let poller = try ModbusDevicePoller(device: sdm120(unit: 1), client: board.modbus, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
        var state = ModbusDevicePoller.PollState(device: poller.device)
        await poller.pollOnce(&state, atSeconds: 0)
        let read = values(sink.readings)
        #expect(read["meter.voltage"] == 230)
        #expect(read["meter.frequency"] == 50)
        #expect((read["meter.power"] ?? 0) > 10)
        #expect(abs((read["meter.energy"] ?? 0) - 1234.5) < 0.01)
        #expect(sink.readings.first { $0.channel.rawValue == "meter.voltage" }?.unit.rawValue == "V")
        #expect(sink.events.isEmpty)
    }

    @Test func aDeadUnitIsReportedOnceBacksOffAndComesBack() async throws {
        let board = await SimulatedBoard()
        let sink = RecordingSink()
        let poller = try ModbusDevicePoller(device: sdm120(unit: 1), client: board.modbus, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
        var state = ModbusDevicePoller.PollState(device: poller.device)
        await board.setMeterAnswering(false)
        for second in stride(from: 0.0, to: 3, by: 1) { await poller.pollOnce(&state, atSeconds: second) }
        #expect(sink.events.map(\.kind) == ["modbus.device-missing"])
        #expect(sink.events.first?.severity == .alarm)
        #expect(sink.events.first?.message.contains("stopped answering") == true)
        #expect(sink.readings.isEmpty)
        // Backing off: polls inside the backoff do not touch the bus.
        let before = await board.modbus.log.count
        await poller.pollOnce(&state, atSeconds: 3)
        #expect(await board.modbus.log.count == before)
        await poller.pollOnce(&state, atSeconds: 10)  // 5 s backoff after the third failure at t=2
        #expect(await board.modbus.log.count == before + 1)  // one request, then it gives up this poll
        #expect(sink.events.count == 1)

        await board.setMeterAnswering(true)
        await poller.pollOnce(&state, atSeconds: 100)
        #expect(sink.events.map(\.kind) == ["modbus.device-missing", "modbus.device-back"])
        #expect(values(sink.readings)["meter.voltage"] == 230)
    }

    @Test func aWrongRegisterIsReportedOnceAndTheRestIsStillRead() async throws {
        let board = await SimulatedBoard()
        let sink = RecordingSink()
        var device = try sdm120(unit: 1)
        device.registers.append(ModbusRegisterConfiguration(
            channel: "meter.bogus", table: .inputRegister, address: 999, format: ModbusValueFormat(.f32), unit: "", reporting: .everyPoll))
        let poller = try ModbusDevicePoller(device: device, client: board.modbus, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
        var state = ModbusDevicePoller.PollState(device: poller.device)
        await poller.pollOnce(&state, atSeconds: 0)
        await poller.pollOnce(&state, atSeconds: 10)
        #expect(sink.events.map(\.kind) == ["modbus.register-error"])
        #expect(sink.events.first?.message.contains("999") == true)
        #expect(sink.readings.filter { $0.channel.rawValue == "meter.voltage" }.count == 2)
        #expect(!state.availability.isMissing)
    }

    @Test func onChangeReportingKeepsTheLinkQuiet() async throws {
        let board = await SimulatedBoard()
        let sink = RecordingSink()
        let time = TestTimeSource()
        let poller = try ModbusDevicePoller(device: sdm120(unit: 1, report: "profile"), client: board.modbus, sink: sink, timeSource: time, logger: silentLogger)
        var state = ModbusDevicePoller.PollState(device: poller.device)
        for poll in 0..<10 {
            await poller.pollOnce(&state, atSeconds: Double(poll) * 10)
            time.advance(seconds: 10)
        }
        // Six channels, nothing changes: one reading each, not ten.
        #expect(sink.readings.count == 6)
    }

    /// The energy-meter profile against pymodbus (a real Modbus stack), over
    /// TCP and over RTU on a pty pair; the unit dies and comes back.
    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func theMeterProfileAgainstARealPeer(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.checkPrerequisites(transport)
        try await ModbusPeer.with(transport) { peer in
            let bus = try await peer.openBus()
            let sink = RecordingSink()
            let poller = try ModbusDevicePoller(device: sdm120(unit: 5), client: bus, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
            var state = ModbusDevicePoller.PollState(device: poller.device)
            await poller.pollOnce(&state, atSeconds: 0)
            let read = values(sink.readings)
            #expect(abs((read["meter.voltage"] ?? 0) - 231.2) < 0.001)
            #expect(abs((read["meter.current"] ?? 0) - 0.25) < 0.0001)
            #expect(read["meter.power"] == 55)
            #expect(abs((read["meter.power-factor"] ?? 0) - 0.96) < 0.0001)
            #expect(read["meter.frequency"] == 50)
            #expect(read["meter.energy"] == 1234.5)

            try await peer.command("mute 5")
            sink.clear()
            for second in 1...3 { await poller.pollOnce(&state, atSeconds: Double(second)) }
            #expect(sink.events.map(\.kind) == ["modbus.device-missing"])
            #expect(sink.events.first?.message.contains("did not answer within 300 ms") == true)
            // Unit 1 on the same bus still answers while 5 is dead.
            #expect(try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1) == [1])

            try await peer.command("unmute 5")
            await poller.pollOnce(&state, atSeconds: 60)
            #expect(sink.events.map(\.kind) == ["modbus.device-missing", "modbus.device-back"])
            #expect(values(sink.readings)["meter.voltage"] != nil)
        }
    }
}

@Suite("Sampling: GPIO contacts")
struct GPIOSamplingTests {
    @Test func doorChangesBecomeDebouncedEvents() async throws {
        let board = await SimulatedBoard()
        let sink = RecordingSink()
        let text = """
            [board]
            kind = "simulated"
            id = "p"
            [gpio.traffic_box]
            chip = "simulated"
            debounce = "30ms"
            """
        let door = try #require(try LampdConfiguration.parse(text).gpioInputs.first { $0.channel == "cabinet.door" })
        let watcher = try GPIOInputWatcher(input: door, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
        let task = Task { await watcher.run(on: board.gpio) }
        defer { task.cancel() }
        try await waitUntil { sink.readings.count == 1 }  // the initial state
        #expect(sink.readings.first?.value == .boolean(false))

        // A bounce shorter than the debounce time is no event.
        try board.setCabinetDoorOpen(true)
        try board.setCabinetDoorOpen(false)
        try await Task.sleep(for: .milliseconds(100))
        #expect(sink.events.isEmpty)

        try board.setCabinetDoorOpen(true)
        try await waitUntil { sink.events.count == 1 }
        #expect(sink.events.first?.kind == "cabinet.door.opened")
        #expect(sink.events.first?.severity == .alarm, "an opened door is sent at once")
        #expect(sink.events.first?.message == "cabinet door opened")
        try board.setCabinetDoorOpen(false)
        try await waitUntil { sink.events.count == 2 }
        #expect(sink.events.last?.kind == "cabinet.door.closed")
        #expect(sink.readings.map(\.value) == [.boolean(false), .boolean(true), .boolean(false)])
    }

    @Test func aMissingLineIsAnAlarmNotACrash() async throws {
        let board = await SimulatedBoard()
        let sink = RecordingSink()
        let input = GPIOInputConfiguration(
            channel: "x", chip: "simulated", line: "NO_SUCH_LINE", activeLow: false, bias: .asIs, debounce: .zero,
            changesAreEvents: true, trueText: "on", falseText: "off",
            trueEvent: .init(kind: "x.on", severity: .info), falseEvent: .init(kind: "x.off", severity: .info))
        let watcher = try GPIOInputWatcher(input: input, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
        let task = Task { await watcher.run(on: board.gpio) }
        defer { task.cancel() }
        try await waitUntil { sink.events.count == 1 }
        #expect(sink.events.first?.kind == "gpio.input-failed")
        #expect(sink.events.first?.message.contains("NO_SUCH_LINE") == true)
    }

    /// The watcher's retry wait and heartbeats run on the injected clock: advancing it past the
    /// heartbeat limit makes the watcher retry and beat at once, with no wall-clock wait.
    @Test func aMissingLineIsRetriedOnTheInjectedClock() async throws {
        let clock = SimulatedClock()
        let board = await SimulatedBoard(clock: clock)
        let sink = RecordingSink()
        let heartbeats = LoopHeartbeats()
        let input = GPIOInputConfiguration(
            channel: "x", chip: "simulated", line: "NO_SUCH_LINE", activeLow: false, bias: .asIs, debounce: .zero,
            changesAreEvents: true, trueText: "on", falseText: "off",
            trueEvent: .init(kind: "x.on", severity: .info), falseEvent: .init(kind: "x.off", severity: .info))
        let watcher = try GPIOInputWatcher(input: input, sink: sink, timeSource: TestTimeSource(), clock: clock,
                                           heartbeats: heartbeats, logger: silentLogger)
        let task = Task { await watcher.run(on: board.gpio) }
        defer { task.cancel() }
        try await clock.waitForSleepers()  // failed once, waits a minute to retry
        #expect(sink.events.map(\.kind) == ["gpio.input-failed"])
        clock.advance(by: .seconds(200))  // past the 120 s heartbeat limit
        try await clock.waitForSleepers()  // retried, failed again, beat, waits again
        #expect(heartbeats.stalled(atSeconds: clock.now.seconds).isEmpty)
        #expect(sink.events.count == 1, "a failure is reported once per streak")
    }
}

/// Polls `condition` (checked first) until it holds; the deadline only guards against a hang.
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + HangGuard.duration
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within the hang guard (\(HangGuard.duration))")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
