import LampdConfig
import Foundation
import Hardware
import Logging
import Sampling
import Telemetry
import Testing
import TestSupport
@testable import Agent

/// A board with Modbus bus "b" (TCP, never opened: the tests give the pollers their client).
let boardWithBusB = """
    [board]
    kind = "simulated"
    id = "p"
    [[modbus.buses]]
    name = "b"
    tcp = "127.0.0.1"

    """

/// A `[modbus.traffic_box]` section on bus "b".
func modbusCabinet(_ keys: String) throws -> ModbusTrafficBoxConfiguration {
    let text = boardWithBusB + """
        [modbus.traffic_box]
        bus = "b"
        \(keys)
        """
    return try #require(try LampdConfiguration.parse(text).modbusTrafficBox)
}

extension RecordingSink {
    /// The latest reading of `channel`.
    func latest(_ channel: String) -> ReadingValue? {
        readings.last { $0.channel.rawValue == channel }?.value
    }
}

/// The cabinet's contacts over Modbus (issue 13): the same debounced events as over GPIO, and a
/// module that stops answering is "unknown" with one alarm, never a door that closed.
@Suite("Sampling: cabinet contacts over Modbus")
struct CabinetModbusSamplingTests {
    func poller(_ board: SimulatedBoard, _ sink: RecordingSink, debouncePolls: Int = 2) throws -> ModbusCabinetPoller {
        let configuration = try modbusCabinet("unit = \(SimulatedBoard.cabinetModuleUnit)\nprofile = \"di-8\"\ndebounce_polls = \(debouncePolls)")
        return try ModbusCabinetPoller(configuration: configuration, client: board.modbus, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
    }

    @Test func theDIModuleGivesTheSameDoorEventsAsTheGPIOLine() async throws {
        let board = await SimulatedBoard()
        let sink = RecordingSink()
        let poller = try poller(board, sink)
        var state = ModbusCabinetPoller.PollState(contacts: 5)
        let before = await board.modbus.log.count
        await poller.pollOnce(&state, atSeconds: 0)
        #expect(await board.modbus.log.count == before + 1, "all five contacts in one request")
        #expect(await board.modbus.log.last == "read discrete 2@0×5")
        #expect(sink.readings.count == 5)
        #expect(sink.latest("cabinet.door") == .boolean(false))
        #expect(sink.latest("cabinet.mains") == .boolean(true))
        #expect(sink.events.isEmpty)

        // A bounce seen by one poll only is no event.
        try board.setCabinetDoorOpen(true)
        await poller.pollOnce(&state, atSeconds: 0.25)
        try board.setCabinetDoorOpen(false)
        await poller.pollOnce(&state, atSeconds: 0.5)
        try board.setCabinetDoorOpen(true)
        await poller.pollOnce(&state, atSeconds: 0.75)
        #expect(sink.events.isEmpty)
        await poller.pollOnce(&state, atSeconds: 1)
        #expect(sink.events.map(\.kind) == ["cabinet.door.opened"])
        #expect(sink.events.first?.severity == .alarm, "an opened door is sent at once")
        #expect(sink.events.first?.message == "cabinet door opened")
        #expect(sink.events.first?.channel?.rawValue == "cabinet.door")
        #expect(sink.events.first?.value == .boolean(true))
        #expect(sink.latest("cabinet.door") == .boolean(true))

        try board.setMainsPresent(false)
        await poller.pollOnce(&state, atSeconds: 1.25)
        await poller.pollOnce(&state, atSeconds: 1.5)
        #expect(sink.events.map(\.kind) == ["cabinet.door.opened", "cabinet.mains.lost", "cabinet.battery.in-use"])
        #expect(sink.events[1].severity == .alarm)
    }

    @Test func aSilentModuleIsUnknownWithOneAlarmNotADoorThatClosed() async throws {
        let board = await SimulatedBoard()
        let sink = RecordingSink()
        let poller = try poller(board, sink)
        var state = ModbusCabinetPoller.PollState(contacts: 5)
        try board.setCabinetDoorOpen(true)
        await poller.pollOnce(&state, atSeconds: 0)
        #expect(sink.latest("cabinet.door") == .boolean(true))

        await board.setCabinetModuleAnswering(false)
        for poll in 1...12 { await poller.pollOnce(&state, atSeconds: Double(poll) * 0.25) }
        #expect(sink.events.map(\.kind) == ["cabinet.module-missing"])
        #expect(sink.events.first?.severity == .alarm)
        #expect(sink.events.first?.message.contains("unit 2 on bus \"b\", discrete inputs 0…4") == true)
        #expect(sink.events.first?.message.contains("cabinet.door") == true)
        for channel in ["cabinet.door", "cabinet.flash-mode", "cabinet.controller-fault", "cabinet.mains", "cabinet.on-battery"] {
            #expect(sink.latest(channel) == ModbusCabinetPoller.unknownValue, "\(channel)")
            #expect(sink.readings.last { $0.channel.rawValue == channel }?.quality.contains(.uncertain) == true)
        }
        #expect(!sink.readings.contains { $0.channel.rawValue == "cabinet.door" && $0.value == .boolean(false) })

        // The door closed while the module was silent: once it answers, that is one event, after the debounce.
        try board.setCabinetDoorOpen(false)
        await board.setCabinetModuleAnswering(true)
        await poller.pollOnce(&state, atSeconds: 60)
        #expect(sink.events.map(\.kind) == ["cabinet.module-missing", "cabinet.module-back"])
        #expect(sink.latest("cabinet.mains") == .boolean(true), "an unchanged contact is known again at once")
        #expect(sink.latest("cabinet.door") == ModbusCabinetPoller.unknownValue, "a changed one waits for its debounce")
        await poller.pollOnce(&state, atSeconds: 60.25)
        #expect(sink.events.map(\.kind) == ["cabinet.module-missing", "cabinet.module-back", "cabinet.door.closed"])
        #expect(sink.latest("cabinet.door") == .boolean(false))
    }

    @Test func aModuleThatNeverAnsweredIsUnknownFromTheStart() async throws {
        let board = await SimulatedBoard()
        let sink = RecordingSink()
        let poller = try poller(board, sink)
        var state = ModbusCabinetPoller.PollState(contacts: 5)
        await board.setCabinetModuleAnswering(false)
        for poll in 0..<3 { await poller.pollOnce(&state, atSeconds: Double(poll)) }
        #expect(sink.events.map(\.kind) == ["cabinet.module-missing"])
        #expect(sink.readings.map(\.value) == Array(repeating: ModbusCabinetPoller.unknownValue, count: 5))
    }

    /// The demo's cabinet steps, once read through the GPIO lines and once through the DI module:
    /// the same events (kinds, severities, channels, texts) either way.
    @Test func theSameScenarioGivesTheSameEventsOverGPIOAndModbus() async throws {
        let steps: [(String, @Sendable (SimulatedBoard) throws -> Void)] = [
            ("door opened", { try $0.setCabinetDoorOpen(true) }),
            ("door closed", { try $0.setCabinetDoorOpen(false) }),
            ("mains lost", { try $0.setMainsPresent(false) }),
            ("mains restored", { try $0.setMainsPresent(true) }),
            ("flash mode", { try $0.setFlashMode(true) }),
            ("controller fault", { try $0.setControllerFault(true) }),
            ("both cleared", { try $0.setFlashMode(false); try $0.setControllerFault(false) }),
        ]
        typealias Seen = [String]
        func describe(_ events: ArraySlice<Event>) -> Seen {
            events.map { "\($0.kind) \($0.severity) \($0.channel?.rawValue ?? "-") \($0.message)" }.sorted()
        }

        // Over GPIO: the watchers of [gpio.traffic_box], each step waited for until every contact's
        // latest reading shows the level the board has.
        let gpioBoard = await SimulatedBoard()
        let gpioSink = RecordingSink()
        let text = "[board]\nkind = \"simulated\"\nid = \"p\"\n[gpio.traffic_box]\nchip = \"simulated\"\ndebounce = \"10ms\"\n"
        let inputs = try LampdConfiguration.parse(text).gpioInputs
        let watchers = try inputs.map { try GPIOInputWatcher(input: $0, sink: gpioSink, timeSource: TestTimeSource(), logger: silentLogger) }
        let tasks = watchers.map { watcher in Task { await watcher.run(on: gpioBoard.gpio) } }
        defer { tasks.forEach { $0.cancel() } }
        func settled(_ board: SimulatedBoard, _ sink: RecordingSink) -> Bool {
            zip(SimulatedBoard.cabinetContactLines, ["cabinet.door", "cabinet.flash-mode", "cabinet.controller-fault", "cabinet.mains", "cabinet.on-battery"])
                .allSatisfy { line, channel in sink.latest(channel) == .boolean((try? board.gpio.level(.name(line))) ?? false) }
        }
        try await waitUntil { gpioSink.readings.count == 5 }
        var gpioSteps: [Seen] = []
        for (_, step) in steps {
            let (mark, readingMark) = (gpioSink.events.count, gpioSink.readings.count)
            try step(gpioBoard)
            // Every contact shows the board's level, and each change's event followed its reading.
            try await waitUntil {
                settled(gpioBoard, gpioSink) && gpioSink.events.count - mark == gpioSink.readings.count - readingMark
            }
            gpioSteps.append(describe(gpioSink.events[mark...]))
        }

        // Over Modbus: the DI module, polled twice per step (the debounce).
        let modbusBoard = await SimulatedBoard()
        let modbusSink = RecordingSink()
        let poller = try poller(modbusBoard, modbusSink)
        var state = ModbusCabinetPoller.PollState(contacts: 5)
        await poller.pollOnce(&state, atSeconds: 0)
        var modbusSteps: [Seen] = []
        for (index, (_, step)) in steps.enumerated() {
            let mark = modbusSink.events.count
            try step(modbusBoard)
            await poller.pollOnce(&state, atSeconds: Double(index) + 1)
            await poller.pollOnce(&state, atSeconds: Double(index) + 1.5)
            #expect(settled(modbusBoard, modbusSink))
            modbusSteps.append(describe(modbusSink.events[mark...]))
        }

        #expect(modbusSteps == gpioSteps)
        #expect(gpioSteps.joined().count == 10, "\(gpioSteps)")
        for (index, seen) in gpioSteps.enumerated() { #expect(!seen.isEmpty, "step \(steps[index].0) gave no event") }
    }
}

/// The same against pymodbus (a real Modbus stack), over TCP and over RTU on a socat pty pair:
/// unit 7 of modbus_server.py is the cabinet's module.
@Suite("Sampling: cabinet contacts over Modbus against a real peer")
struct CabinetModbusPeerTests {
    static let unit: UInt8 = 7

    func bus(_ peer: ModbusPeer) async throws -> ModbusBus {
        try await peer.openBus()
    }

    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func aDiscreteInputBecomesTheDebouncedDoorEvent(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.checkPrerequisites(transport)
        try await ModbusPeer.with(transport) { peer in
            let sink = RecordingSink()
            let configuration = try modbusCabinet("unit = 7\nprofile = \"di-8\"\ndoor = 3\nmains_present = 0")
            let poller = try ModbusCabinetPoller(configuration: configuration, client: try await bus(peer), sink: sink,
                                                 timeSource: TestTimeSource(), logger: silentLogger)
            var state = ModbusCabinetPoller.PollState(contacts: 5)
            await poller.pollOnce(&state, atSeconds: 0)
            #expect(sink.latest("cabinet.door") == .boolean(false))
            #expect(sink.latest("cabinet.mains") == .boolean(false))

            try await peer.command("set 7 discrete 3 1")
            await poller.pollOnce(&state, atSeconds: 0.25)
            #expect(sink.events.isEmpty, "one poll is not enough")
            await poller.pollOnce(&state, atSeconds: 0.5)
            #expect(sink.events.map(\.kind) == ["cabinet.door.opened"])
            #expect(sink.events.first?.message == "cabinet door opened")
            #expect(sink.latest("cabinet.door") == .boolean(true))

            // Silent: unknown and one alarm, not a closed door.
            try await peer.command("mute 7")
            for poll in 3...8 { await poller.pollOnce(&state, atSeconds: Double(poll) * 0.25) }
            #expect(sink.events.map(\.kind) == ["cabinet.door.opened", "cabinet.module-missing"])
            #expect(sink.events.last?.message.contains("did not answer within 300 ms") == true)
            #expect(sink.latest("cabinet.door") == ModbusCabinetPoller.unknownValue)
            #expect(!sink.events.contains { $0.kind == "cabinet.door.closed" })

            try await peer.command("unmute 7")
            await poller.pollOnce(&state, atSeconds: 60)
            #expect(sink.events.map(\.kind) == ["cabinet.door.opened", "cabinet.module-missing", "cabinet.module-back"])
            #expect(sink.latest("cabinet.door") == .boolean(true), "still open: known again, no new event")
        }
    }

    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func aStatusRegisterBitBecomesTheSameEvents(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.checkPrerequisites(transport)
        try await ModbusPeer.with(transport) { peer in
            let sink = RecordingSink()
            let configuration = try modbusCabinet("""
                unit = 7
                table = "holding"
                address = 1
                door = 0
                flash_mode = 4
                controller_fault = 15
                """)
            let poller = try ModbusCabinetPoller(configuration: configuration, client: try await bus(peer), sink: sink,
                                                 timeSource: TestTimeSource(), logger: silentLogger)
            var state = ModbusCabinetPoller.PollState(contacts: 3)
            await poller.pollOnce(&state, atSeconds: 0)
            #expect(sink.readings.map(\.value) == Array(repeating: .boolean(false), count: 3))

            try await peer.command("set 7 holding 1 \(1 << 15 | 1 << 0)")  // door open, controller fault
            await poller.pollOnce(&state, atSeconds: 0.25)
            await poller.pollOnce(&state, atSeconds: 0.5)
            #expect(sink.events.map(\.kind) == ["cabinet.door.opened", "cabinet.controller-fault.raised"])
            #expect(sink.events.last?.severity == .alarm)

            try await peer.command("set 7 holding 1 \(1 << 4)")  // door closed, fault cleared, flashing
            await poller.pollOnce(&state, atSeconds: 0.75)
            await poller.pollOnce(&state, atSeconds: 1)
            #expect(sink.events.map(\.kind) == ["cabinet.door.opened", "cabinet.controller-fault.raised",
                                                "cabinet.door.closed", "cabinet.flash-mode.on", "cabinet.controller-fault.cleared"])
        }
    }
}

/// `bit = N` on an ordinary register reading: one flag of a status word as a 1/0 reading.
@Suite("Sampling: a register bit as a reading")
struct RegisterBitReadingTests {
    func device(_ register: String) throws -> ModbusDeviceConfiguration {
        try #require(try LampdConfiguration.parse(text(register)).modbusDevices.first)
    }

    func text(_ register: String) -> String {
        boardWithBusB + """
            [[modbus.devices]]
            name = "controller"
            bus = "b"
            unit = 9
            [[modbus.devices.registers]]
            channel = "status"
            \(register)
            """
    }

    @Test func aBitOfAHoldingRegisterReadsOneOrZero() async throws {
        let bus = SimulatedModbusBus()
        await bus.setUnit(9, SimulatedModbusUnit(bits: 8, registers: 8))
        await bus.update(9) { $0.holdingRegisters[3] = 0b1000_0000_0010_0000 }
        var readings: [Double] = []
        for bit in [5, 6, 15] {
            let sink = RecordingSink()
            let configuration = try device("table = \"holding\"\naddress = 3\nbit = \(bit)")
            #expect(configuration.registers.first?.bit == bit)
            let poller = try ModbusDevicePoller(device: configuration, client: bus, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
            var state = ModbusDevicePoller.PollState(device: poller.device)
            await poller.pollOnce(&state, atSeconds: 0)
            readings.append(values(sink.readings)["controller.status"] ?? -1)
        }
        #expect(readings == [1, 0, 1])
    }

    @Test func aBitIsRefusedWhereItMakesNoSense() {
        for (register, message) in [
            ("table = \"coil\"\naddress = 0\nbit = 1", "already is one bit"),
            ("table = \"input\"\naddress = 0\nbit = 16", "16 is out of range; expected 0 to 15"),
            ("table = \"input\"\naddress = 0\nbit = -1", "-1 is out of range"),
        ] {
            let error = #expect(throws: ConfigurationErrors.self) { try LampdConfiguration.parse(text(register)) }
            #expect(error?.errors.first?.message.contains(message) == true, "\(String(describing: error))")
            #expect(error?.errors.first?.location.line != nil)
        }
    }
}
