import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Hardware

/// The live libmodbus bus against the pymodbus peer, over TCP and over RTU on
/// a socat pty pair. The values and addresses are those documented in
/// Tests/Peers/modbus_server.py.
@Suite("Modbus live bus against pymodbus", .serialized)
struct ModbusLiveBusTests {
    static func open(_ peer: ModbusPeer, rs485: RS485Mode = .off, timeout: Duration = .milliseconds(500)) async throws -> ModbusBus {
        switch peer.transport {
        case .tcp:
            return try await ModbusBus.open(ModbusBusConfiguration(.tcp(host: peer.tcpHost, port: peer.tcpPort), timeout: timeout))
        case .rtu:
            let settings = ModbusRTUSettings(device: peer.clientDevice, baudRate: 9600, parity: .none, rs485: rs485)
            return try await ModbusBus.open(ModbusBusConfiguration(.rtu(settings), timeout: timeout))
        }
    }

    static let expected: [(ModbusDataType, UInt16, Double)] = [
        (.u16, 0, 51234), (.i16, 1, -12345), (.u32, 2, 3_000_000_000), (.i32, 4, -123_456_789),
        (.f32, 6, 230.5), (.u64, 8, Double(UInt64(12_345_678_901_234_567_890))), (.f64, 12, -9876.54321),
    ]

    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func decodesEveryTypeInEveryOrder(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.with(transport) { peer in
            let bus = try await Self.open(peer)
            for order in ModbusWordOrder.allCases {
                let base = try #require(ModbusPeer.Map.orderBase[order.rawValue])
                for (type, offset, value) in Self.expected {
                    let format = ModbusValueFormat(type, order: order)
                    for table in [ModbusTable.holdingRegister, .inputRegister] {
                        let registers = try await bus.readRegisters(table, unit: 1, address: base + offset, count: type.registerCount)
                        #expect(try format.decode(registers).doubleValue == value, "\(type) \(order) \(table)")
                    }
                }
            }
            // u64 exactly (Double loses the low bits).
            let raw = try await bus.readHoldingRegisters(unit: 2, address: 208, count: 4)
            #expect(try ModbusValueFormat(.u64, order: .cdab).decode(raw) == .u64(12_345_678_901_234_567_890))
            // Scaled fixed point.
            #expect(try await bus.readNumber(.holdingRegister, unit: 1, address: 10, format: ModbusValueFormat(.u16, scale: 0.1)) == 230.5)
            #expect(abs(try await bus.readNumber(.inputRegister, unit: 2, address: 12, format: ModbusValueFormat(.i32, scale: 0.01)) + 123.45) < 1e-9)
            // Bits.
            #expect(try await bus.readCoils(unit: 1, address: 0, count: 4) == [true, false, false, true])
            #expect(try await bus.readDiscreteInputs(unit: 2, address: 0, count: 3) == [true, false, true])
        }
    }

    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func writesReadBack(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.with(transport) { peer in
            let bus = try await Self.open(peer)
            let format = ModbusValueFormat(.f64, order: .dcba)
            try await bus.writeRegisters(unit: 1, address: ModbusPeer.Map.scratch, values: try format.encode(number: -0.125))
            #expect(try await bus.readNumber(.holdingRegister, unit: 1, address: ModbusPeer.Map.scratch, format: format) == -0.125)
            try await bus.writeRegister(unit: 2, address: 30, value: 0xBEEF)
            #expect(try await bus.readHoldingRegisters(unit: 2, address: 30, count: 1) == [0xBEEF])
            #expect(try await bus.readHoldingRegisters(unit: 1, address: 30, count: 1) == [0], "units are separate")
            try await bus.writeCoils(unit: 1, address: 10, values: [true, true, false])
            try await bus.writeCoil(unit: 1, address: 13, value: true)
            #expect(try await bus.readCoils(unit: 1, address: 10, count: 4) == [true, true, false, true])
        }
    }

    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func exceptionsAreNamed(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.with(transport) { peer in
            let bus = try await Self.open(peer)
            let address = await #expect(throws: ModbusError.self) {
                try await bus.readHoldingRegisters(unit: 1, address: ModbusPeer.Map.firstInvalid, count: 1)
            }
            #expect(address?.kind == .exception(.illegalDataAddress))
            #expect(address?.code == "modbus.illegal-data-address")
            let busy = await #expect(throws: ModbusError.self) {
                try await bus.readHoldingRegisters(unit: 2, address: ModbusPeer.Map.busy, count: 1)
            }
            #expect(busy?.code == "modbus.server-device-busy")
            let count = await #expect(throws: ModbusError.self) { try await bus.readHoldingRegisters(unit: 1, address: 0, count: 126) }
            #expect(count?.kind == .invalidArgument)
            // The bus still works after exceptions.
            #expect(try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1) == [1])
        }
    }

    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func deadUnitTimesOutAndDoesNotStallOthers(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.with(transport) { peer in
            let bus = try await Self.open(peer, timeout: .milliseconds(300))
            let started = ContinuousClock.now
            let error = await #expect(throws: ModbusError.self) { try await bus.readHoldingRegisters(unit: 3, address: 0, count: 1) }
            let elapsed = ContinuousClock.now - started
            #expect(error?.kind == .timeout)
            #expect(error?.code == "modbus.timeout")
            #expect(error?.description.contains("Modbus unit 3 on \(bus.description) did not answer within 300 ms") == true)
            // At least the timeout; the upper bound only catches a hang (a loaded machine may starve the test).
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(20))

            // Interleaved, concurrently: unit 2 answers every time, unit 3 costs one timeout each.
            let interleaved = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<3 {
                    group.addTask {
                        await #expect(throws: ModbusError.self) {
                            try await bus.readHoldingRegisters(unit: 3, address: 0, count: 1, timeout: .milliseconds(200))
                        }
                    }
                    group.addTask {
                        let answer = try await bus.readHoldingRegisters(unit: 2, address: 0, count: 1)
                        #expect(answer == [2], "round \(round)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(ContinuousClock.now - interleaved < .seconds(20))
            // A per-request timeout overrides the bus default (300 ms): the error names the 50 ms it waited
            // (told by what the bus says, not by a stopwatch a loaded machine could stretch).
            let short = await #expect(throws: ModbusError.self) {
                try await bus.readCoils(unit: 3, address: 0, count: 1, timeout: .milliseconds(50))
            }
            #expect(short?.description.contains("did not answer within 50 ms") == true, "\(String(describing: short))")
            #expect(try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1) == [1])
        }
    }

    @Test func rs485RequiredFailsOnPtyAndIfSupportedContinues() async throws {
        try await ModbusPeer.with(.rtu) { peer in
            let error = await #expect(throws: ModbusError.self) { _ = try await Self.open(peer, rs485: .required) }
            #expect(error?.kind == .rs485Unsupported)
            #expect(error?.code == "modbus.rs485-unsupported")
            #expect(error?.description.contains(peer.clientDevice) == true)

            let bus = try await Self.open(peer, rs485: .ifSupported)
            #expect(bus.warnings.map(\.code) == ["modbus.rs485-unsupported"])
            #expect(try await bus.readHoldingRegisters(unit: 2, address: 0, count: 1) == [2])
        }
    }

    @Test func tcpReconnectsAfterServerRestartAndReportsRefused() async throws {
        let bus: ModbusBus = try await ModbusPeer.with(.tcp) { peer in
            let bus = try await Self.open(peer)
            #expect(try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1) == [1])
            return bus
        }
        // The server is gone: the broken connection is reported, then refused.
        let first = await #expect(throws: ModbusError.self) { try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1) }
        #expect([ModbusError.Kind.connectionLost, .connectionRefused, .timeout].contains(first?.kind ?? .io))
        let second = await #expect(throws: ModbusError.self) { try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1) }
        #expect(second?.kind == .connectionRefused)
        #expect(second?.code == "modbus.connection-refused")
    }

    @Test func missingSerialDeviceIsNamed() async throws {
        let settings = ModbusRTUSettings(device: "/dev/ttyLAMPD-does-not-exist")
        let error = await #expect(throws: ModbusError.self) { _ = try await ModbusBus.open(ModbusBusConfiguration(.rtu(settings))) }
        #expect(error?.kind == .deviceNotFound)
        #expect(error?.description.contains("/dev/ttyLAMPD-does-not-exist") == true)
    }

    /// lampd makes its buses with `ModbusBus(_:onWarning:)`: nothing opens until the first
    /// request, and a port that could not be opened is tried again on the next one, so a USB
    /// adapter unplugged at start-up costs failed polls with the reason, not the daemon.
    @Test func aBusOpensOnFirstUseAndAgainAfterThePortCameBack() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-lazy-bus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let device = folder.appendingPathComponent("ttyUSB0").path
        try await ModbusPeer.with(.rtu) { peer in
            let warned = Mutex<[String]>([])
            let settings = ModbusRTUSettings(device: device, baudRate: 9600, parity: .none, rs485: .ifSupported)
            let bus = ModbusBus(ModbusBusConfiguration(.rtu(settings), timeout: .milliseconds(500))) { warning in
                warned.withLock { $0.append(warning.code) }
            }
            #expect(bus.warnings.isEmpty, "nothing is opened before the first request")
            for _ in 0..<2 {
                let unplugged = await #expect(throws: ModbusError.self) { try await bus.readHoldingRegisters(unit: 2, address: 0, count: 1) }
                #expect(unplugged?.kind == .deviceNotFound)
                #expect(unplugged?.description.contains(device) == true)
            }
            try FileManager.default.createSymbolicLink(atPath: device, withDestinationPath: peer.clientDevice)  // plugged in
            #expect(try await bus.readHoldingRegisters(unit: 2, address: 0, count: 1) == [2])
            #expect(try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1) == [1])
            #expect(warned.withLock { $0 } == ["modbus.rs485-unsupported"], "each warning is passed on once")
            #expect(bus.warnings.map(\.code) == ["modbus.rs485-unsupported"])
        }
    }

    @Test func aBusWithBadSettingsRefusesEachRequestInsteadOfTrapping() async throws {
        let bus = ModbusBus(ModbusBusConfiguration(.tcp(host: "", port: 502)))
        let error = await #expect(throws: ModbusError.self) { try await bus.writeCoil(unit: 1, address: 0, value: true) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.description.contains("no host given") == true)
    }
}
