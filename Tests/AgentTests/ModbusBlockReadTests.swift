@testable import LampdConfig
import Foundation
import Hardware
import Sampling
import Telemetry
import Testing
import TestSupport
@testable import Agent

/// A device section with `registers` (TOML of [[modbus.devices.registers]]) and extra device keys.
private func deviceTOML(unit: UInt8, keys: String = "", registers: String) -> String {
    """
    [board]
    kind = "simulated"
    id = "p"
    [[modbus.buses]]
    name = "b"
    tcp = "127.0.0.1"
    [[modbus.devices]]
    name = "pole"
    bus = "b"
    unit = \(unit)
    \(keys)
    \(registers)
    """
}

private func register(_ channel: String, _ table: String, _ address: Int, type: String = "u16") -> String {
    """
    [[modbus.devices.registers]]
    channel = "\(channel)"
    table = "\(table)"
    address = \(address)
    type = "\(type)"

    """
}

/// The 40 channels of the shared benchmark (lampd-40ch.toml): 20 f32 holding, 20 u16 input.
private func fortyChannels(unit: UInt8) throws -> ModbusDeviceConfiguration {
    let registers = (0..<20).map { register(String(format: "em_f%02d", $0), "holding", 2 * $0, type: "f32") }.joined()
        + (0..<20).map { register(String(format: "tc_u%02d", $0), "input", $0) }.joined()
    return try #require(try LampdConfiguration.parse(deviceTOML(unit: unit, registers: registers)).modbusDevices.first)
}

/// Holding registers of the peer's strict unit 8 (defined: 0-3, 10-13, 20-21), with one undefined (5).
private func strictMeter() throws -> ModbusDeviceConfiguration {
    let registers = register("a", "holding", 0) + register("b", "holding", 1, type: "f32") + register("c", "holding", 3)
        + register("bad", "holding", 5) + register("d", "holding", 10) + register("e", "holding", 12, type: "u32")
        + register("f", "holding", 20)
    return try #require(try LampdConfiguration.parse(deviceTOML(unit: ModbusPeer.Map.strictUnit, registers: registers)).modbusDevices.first)
}

/// Polls a device `polls` times; returns the readings' values in order and the events.
private func poll(
    _ device: ModbusDeviceConfiguration, on client: any ModbusClient, polls: Int = 1, answers: ModbusDeviceAnswers? = nil,
    between: (Int) async throws -> Void = { _ in }
) async throws -> (readings: [Reading], events: [Event], state: ModbusDevicePoller.PollState) {
    let sink = RecordingSink()
    let poller = try ModbusDevicePoller(device: device, client: client, sink: sink, timeSource: TestTimeSource(), answers: answers, logger: silentLogger)
    var state = ModbusDevicePoller.PollState(device: poller.device)
    for index in 0..<polls {
        await poller.pollOnce(&state, atSeconds: Double(index))
        try await between(index)
    }
    return (sink.readings, sink.events, state)
}

private func perItem(_ device: ModbusDeviceConfiguration) -> ModbusDeviceConfiguration {
    var device = device
    device.blocks = .perItem
    return device
}

private func numbers(_ readings: [Reading]) -> [String] {
    readings.map { reading in
        guard case .number(let value) = reading.value else { return "\(reading.channel.rawValue)=?" }
        return "\(reading.channel.rawValue)=\(value)"
    }
}

@Suite("Modbus block reads: configuration")
struct ModbusBlockConfigurationTests {
    @Test func theDefaultsAreStandardAndTheKeysOverrideThem() throws {
        let plain = try #require(try LampdConfiguration.parse(deviceTOML(unit: 1, registers: register("x", "holding", 0))).modbusDevices.first)
        #expect(plain.blocks == .standard)
        let text = deviceTOML(unit: 1, keys: "max_read_gap = 0\nmax_block_registers = 16\nmax_block_bits = 64\nprofile = \"eastron-sdm120\"", registers: "")
        let tuned = try #require(try LampdConfiguration.parse(text).modbusDevices.first)
        #expect(tuned.blocks == ModbusBlockLimits(maxRegisters: 16, maxBits: 64, maxGap: 0))
    }

    @Test func anOutOfRangeLimitIsReportedWithItsPlace() {
        let text = deviceTOML(unit: 1, keys: "max_block_registers = 126\nmax_read_gap = -1\nmax_block_bits = 0", registers: register("x", "holding", 0))
        var errors: [ConfigurationError] = []
        do { _ = try LampdConfiguration.parse(text, file: "x.toml") } catch { errors = error.errors }
        let byKey = Dictionary(grouping: errors, by: \.keyPath).mapValues { $0.map(\.description) }
        #expect(byKey["modbus.devices[0].max_block_registers"] == ["x.toml:11:23: modbus.devices[0].max_block_registers: 126 is out of range; expected 1 to 125"])
        #expect(byKey["modbus.devices[0].max_read_gap"] == ["x.toml:12:16: modbus.devices[0].max_read_gap: -1 is out of range; expected 0 to 125"])
        #expect(byKey["modbus.devices[0].max_block_bits"] == ["x.toml:13:18: modbus.devices[0].max_block_bits: 0 is out of range; expected 1 to 2000"])
    }
}

@Suite("Modbus block reads: polling")
struct ModbusBlockPollingTests {
    @Test func theMeterProfileTakesFourRequestsInsteadOfSixWithTheSameReadings() async throws {
        let device = try sdm120(unit: SimulatedBoard.meterUnit)
        var logs: [[String]] = []
        var readings: [[String]] = []
        for variant in [device, perItem(device)] {
            let board = await SimulatedBoard()
            let before = await board.modbus.log.count
            let result = try await poll(variant, on: board.modbus)
            logs.append(Array(await board.modbus.log.dropFirst(before)))
            readings.append(numbers(result.readings))
            #expect(result.events.isEmpty)
        }
        #expect(logs[0] == ["read input 1@0×14", "read input 1@30×2", "read input 1@70×2", "read input 1@342×2"])
        #expect(logs[1].count == 6)
        #expect(readings[0] == readings[1])
        #expect(readings[0].count == 6)
    }

    /// A register past the unit's map in the middle of a block: the unit refuses
    /// the block (exception 02); the poller splits it, reads every good register
    /// in the same poll, reports the bad one once, and keeps the split.
    @Test func aRefusedBlockIsSplitAndRemembered() async throws {
        let bus = SimulatedModbusBus()
        var unit = SimulatedModbusUnit(registers: 100)
        try unit.set(.holdingRegister, address: 95, number: 230.5, format: ModbusValueFormat(.f32))
        unit.holdingRegisters[98] = 7
        unit.holdingRegisters[99] = 9
        await bus.setUnit(1, unit)
        let text = deviceTOML(unit: 1, registers: register("f", "holding", 95, type: "f32") + register("g", "holding", 98)
            + register("bad", "holding", 100) + register("h", "holding", 99))
        let device = try #require(try LampdConfiguration.parse(text).modbusDevices.first)
        let answers = ModbusDeviceAnswers()
        var firstRequests: Int?
        let result = try await poll(device, on: bus, polls: 2, answers: answers) { index in if index == 0 { firstRequests = answers.entry("pole")?.requests } }
        let log = await bus.log
        #expect(log == [
            "read holding 1@95×6",  // refused: 100 is past the map
            "read holding 1@95×2", "read holding 1@98×3",  // split at the hole at 97; 98×3 refused
            "read holding 1@98×1", "read holding 1@99×1", "read holding 1@100×1",
            // The next poll starts from the split.
            "read holding 1@95×2", "read holding 1@98×1", "read holding 1@99×1", "read holding 1@100×1",
        ])
        #expect(result.state.requestsPerPoll == 4)
        #expect(firstRequests == 6 && answers.entry("pole")?.requests == 4, "lampctl selftest says how many requests a poll took")
        #expect(numbers(result.readings) == ["pole.f=230.5", "pole.g=7.0", "pole.h=9.0", "pole.f=230.5", "pole.g=7.0", "pole.h=9.0"])
        #expect(result.events.map(\.kind) == ["modbus.register-error"])
        #expect(result.events.first?.message.hasPrefix("pole register holding 100 (pole.bad): ") == true)
        #expect(!result.state.availability.isMissing)
    }

    /// Coils, discrete inputs and `bit` channels come out of their blocks as
    /// they came out of reads of their own.
    @Test func bitsAndRegisterBitsComeOutOfTheirBlocks() async throws {
        var unit = SimulatedModbusUnit(bits: 16, registers: 16)
        unit.coils[3] = true
        unit.discreteInputs[1] = true
        unit.holdingRegisters[7] = 0b1001
        let bus = await SimulatedModbusBus.with(1, unit)
        var registers = register("c0", "coil", 0) + register("c3", "coil", 3) + register("d1", "discrete", 1)
        registers += register("s0", "holding", 7) + "bit = 0\n" + register("s1", "holding", 7) + "bit = 1\n" + register("s3", "holding", 7) + "bit = 3\n"
        let device = try #require(try LampdConfiguration.parse(deviceTOML(unit: 1, registers: registers)).modbusDevices.first)
        let blocks = try await poll(device, on: bus)
        #expect(await bus.log == ["read coil 1@0×4", "read discrete 1@1×1", "read holding 1@7×1"])
        let single = try await poll(perItem(device), on: await SimulatedModbusBus.with(1, unit))
        #expect(numbers(blocks.readings) == ["pole.c0=0.0", "pole.c3=1.0", "pole.d1=1.0", "pole.s0=1.0", "pole.s1=0.0", "pole.s3=1.0"])
        #expect(numbers(blocks.readings) == numbers(single.readings))
    }

    /// A poll that fails part-way (here a register past address 65535, which no
    /// unit is even asked for) still records what the blocks before it read,
    /// as per-register reads did.
    @Test func whatWasReadBeforeAFailureIsRecorded() async throws {
        let bus = await SimulatedModbusBus.with(1, SimulatedModbusUnit(registers: 16))
        var device = try #require(try LampdConfiguration.parse(deviceTOML(unit: 1, registers: register("a", "holding", 0) + register("b", "holding", 1))).modbusDevices.first)
        device.registers.append(ModbusRegisterConfiguration(
            channel: "pole.z", table: .holdingRegister, address: 65_535, format: ModbusValueFormat(.f32), unit: "", reporting: .everyPoll))
        let answers = ModbusDeviceAnswers()
        let result = try await poll(device, on: bus, answers: answers)
        #expect(numbers(result.readings) == ["pole.a=0.0", "pole.b=0.0"])
        #expect(answers.entry("pole")?.answered == false)
        #expect(answers.entry("pole")?.failureCode == "modbus.invalid-argument")
    }

    /// Seeded random devices (tables, addresses, types, word orders, bits,
    /// registers past the unit's map) on random unit contents: block reads give
    /// the same readings and events as one read per register, poll after poll.
    @Test func fuzzedDevicesReadTheSameInBlocksAsRegisterByRegister() async throws {
        var random = SeededRandom(seed: 0xB10C_4EAD)
        let types: [ModbusDataType] = [.u16, .i16, .u32, .i32, .f32, .u64, .f64]
        let orders: [ModbusWordOrder] = [.abcd, .cdab, .badc, .dcba]
        var seen = (readings: 0, events: 0, saved: 0)
        for _ in 0..<60 {
            var unit = SimulatedModbusUnit(bits: 64, registers: 64)
            unit.holdingRegisters = (0..<64).map { _ in UInt16(truncatingIfNeeded: random.next()) }
            unit.inputRegisters = (0..<64).map { _ in UInt16(truncatingIfNeeded: random.next()) }
            unit.coils = (0..<64).map { _ in random.next() % 2 == 0 }
            unit.discreteInputs = (0..<64).map { _ in random.next() % 2 == 0 }
            var registers: [ModbusRegisterConfiguration] = []
            for index in 0..<Int(random.next() % 24) + 1 {
                let table = random.pick(ModbusTable.allCases)
                let bit = !table.holdsBits && random.next() % 4 == 0 ? Int(random.next() % 16) : nil
                registers.append(ModbusRegisterConfiguration(
                    channel: "pole.c\(index)", table: table, address: UInt16(random.next() % 72),
                    format: ModbusValueFormat(random.pick(types), order: random.pick(orders), scale: random.next() % 3 == 0 ? 0.1 : nil),
                    unit: "", reporting: .everyPoll, bit: bit))
            }
            let limits = ModbusBlockLimits(maxRegisters: Int(random.next() % 40) + 1, maxBits: Int(random.next() % 40) + 1, maxGap: Int(random.next() % 12))
            let device = ModbusDeviceConfiguration(name: "pole", bus: "b", unit: 1, pollInterval: .seconds(1), registers: registers, blocks: limits)
            let blocks = try await poll(device, on: await SimulatedModbusBus.with(1, unit), polls: 2)
            let single = try await poll(perItem(device), on: await SimulatedModbusBus.with(1, unit), polls: 2)
            #expect(numbers(blocks.readings) == numbers(single.readings))
            #expect(blocks.events.map(\.message) == single.events.map(\.message))
            #expect(blocks.state.requestsPerPoll <= single.state.requestsPerPoll)
            seen.readings += blocks.readings.count
            seen.events += blocks.events.count
            seen.saved += single.state.requestsPerPoll - blocks.state.requestsPerPoll
        }
        // The seed reaches all three: values, refused registers, fewer requests.
        #expect(seen.readings > 500 && seen.events > 20 && seen.saved > 100, "\(seen)")
    }

    /// A busy unit (exception 06) is read in parts for that poll only: its
    /// next poll tries the whole block again.
    @Test func aBusyBlockIsReadInPartsOnlyThatPoll() async throws {
        let bus = SimulatedModbusBus()
        await bus.setUnit(1, SimulatedModbusUnit(registers: 10))
        await bus.setBehaviour(1, .exception(.serverDeviceBusy))
        let device = try #require(try LampdConfiguration.parse(deviceTOML(unit: 1, registers: register("a", "holding", 0) + register("b", "holding", 2))).modbusDevices.first)
        let result = try await poll(device, on: bus, polls: 2) { _ in await bus.setBehaviour(1, .answering) }
        #expect(await bus.log == ["read holding 1@0×3", "read holding 1@0×1", "read holding 1@2×1", "read holding 1@0×3"])
        #expect(result.events.map(\.kind) == ["modbus.register-error", "modbus.register-error"])
        #expect(numbers(result.readings) == ["pole.a=0.0", "pole.b=0.0"])
    }
}

extension ModbusPeer {
    /// A live bus to this peer: its TCP port, or our end of the pty pair (8N1 on a pty whatever the parity).
    func openBus(timeout: Duration = .milliseconds(300)) async throws -> ModbusBus {
        let settings: ModbusTransport = transport == .tcp
            ? .tcp(host: tcpHost, port: tcpPort)
            : .rtu(ModbusRTUSettings(device: clientDevice, parity: .even, rs485: .off))
        return try await ModbusBus.open(ModbusBusConfiguration(settings, timeout: timeout))
    }
}

extension SimulatedModbusBus {
    /// A bus with one unit.
    static func with(_ id: UInt8, _ unit: SimulatedModbusUnit) async -> SimulatedModbusBus {
        let bus = SimulatedModbusBus()
        await bus.setUnit(id, unit)
        return bus
    }
}

/// Against pymodbus over TCP and over RTU on a socat pty pair.
@Suite("Modbus block reads: real peer")
struct ModbusBlockPeerTests {
    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func theFortyChannelsOfTheBenchmarkAreTwoRequestsPerPoll(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.checkPrerequisites(transport)
        try await ModbusPeer.with(transport) { peer in
            let bus = try await peer.openBus(timeout: .milliseconds(500))
            let device = try fortyChannels(unit: ModbusPeer.Map.benchUnit)
            let blocks = try await poll(device, on: bus, polls: 3)
            let afterBlocks = try await peer.requests(unit: ModbusPeer.Map.benchUnit)
            #expect(afterBlocks == 6, "2 requests per poll")
            #expect(blocks.state.requestsPerPoll == 2)
            let single = try await poll(perItem(device), on: bus, polls: 3)
            #expect(try await peer.requests(unit: ModbusPeer.Map.benchUnit) - afterBlocks == 120, "40 requests per poll")
            #expect(numbers(blocks.readings) == numbers(single.readings))
            let expected = (0..<20).map { "pole.em_f\(String(format: "%02d", $0))=\(100 + Double($0) / 4)" }
                + (0..<20).map { "pole.tc_u\(String(format: "%02d", $0))=\(Double(1000 + $0))" }
            #expect(Array(numbers(blocks.readings).prefix(40)) == expected)
            #expect(blocks.events.isEmpty && single.events.isEmpty)
        }
    }

    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func aMeterThatRefusesReadsOverHolesGetsEveryGoodRegisterRead(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.checkPrerequisites(transport)
        try await ModbusPeer.with(transport) { peer in
            let bus = try await peer.openBus(timeout: .milliseconds(500))
            let device = try strictMeter()
            let first = try await poll(device, on: bus, polls: 1)
            let firstRequests = try await peer.requests(unit: ModbusPeer.Map.strictUnit)
            // 0×21 refused; then 0×4, 5 (refused), 10, 12×2, 20.
            #expect(firstRequests == 6)
            #expect(first.state.requestsPerPoll == 5)
            let both = try await poll(device, on: bus, polls: 2)
            // A new poller learns again once (6), then reads the split (5).
            #expect(try await peer.requests(unit: ModbusPeer.Map.strictUnit) - firstRequests == 11)
            let single = try await poll(perItem(device), on: bus, polls: 2)
            #expect(numbers(both.readings) == numbers(single.readings))
            #expect(numbers(first.readings) == ["pole.a=100.0", "pole.b=\(Self.f32(101, 102))", "pole.c=103.0", "pole.d=110.0",
                                                "pole.e=\(Double(112 << 16 | 113))", "pole.f=120.0"])
            #expect(both.events.map(\.kind) == ["modbus.register-error"])
            #expect(both.events.map(\.message) == single.events.map(\.message))
            #expect(!both.state.availability.isMissing)
        }
    }

    private static func f32(_ high: UInt16, _ low: UInt16) -> Double {
        Double(Float(bitPattern: UInt32(high) << 16 | UInt32(low)))
    }

    /// Bus time per poll of the 40 channels over RTU on the socat pty pair, per
    /// register and in blocks: on the bare pty (bytes pass at once: protocol and
    /// peer overhead only) and through `paced_line.py` at 9600 baud 8E1 (every
    /// character costs 1.146 ms, as on a real line). Logs the figures for
    /// docs/performance.md; asserts nothing about time.
    @Test(arguments: [nil, 9600])
    func busTimePerPollOverRTU(pacedAtBaud baud: Int?) async throws {
        try await ModbusPeer.checkPrerequisites(.rtu)
        try await ModbusPeer.with(.rtu, pacedAtBaud: baud) { peer in
            let bus = try await peer.openBus(timeout: .seconds(2))
            let device = try fortyChannels(unit: ModbusPeer.Map.benchUnit)
            let polls = 10
            for (name, variant) in [("per register", perItem(device)), ("blocks", device)] {
                let sink = RecordingSink()
                let poller = try ModbusDevicePoller(device: variant, client: bus, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
                var state = ModbusDevicePoller.PollState(device: variant)
                await poller.pollOnce(&state, atSeconds: 0)  // warm up: the line is open
                var times: [Double] = []
                for index in 1...polls {
                    let start = ContinuousClock.now
                    await poller.pollOnce(&state, atSeconds: Double(index))
                    let elapsed = ContinuousClock.now - start
                    times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                }
                #expect(sink.readings.count == 40 * (polls + 1))
                let sorted = times.sorted()
                let line = baud.map { "paced at \($0) baud 8E1" } ?? "bare pty"
                let figures = String(format: "median %.1f ms, min %.1f ms, max %.1f ms", sorted[polls / 2], sorted[0], sorted[polls - 1])
                print("bus time per poll, 40 channels, RTU \(line), \(name): \(state.requestsPerPoll) requests, \(figures)")
            }
        }
    }
}
