import Testing
@testable import Hardware

@Suite("Modbus typed values and word orders")
struct ModbusValueTests {
    /// float32 pi = 0x40490FDB in every order (bytes A=40 B=49 C=0F D=DB).
    @Test(arguments: [
        (ModbusWordOrder.abcd, [UInt16(0x4049), 0x0FDB]),
        (.cdab, [0x0FDB, 0x4049]),
        (.badc, [0x4940, 0xDB0F]),
        (.dcba, [0xDB0F, 0x4940]),
    ])
    func float32KnownPattern(order: ModbusWordOrder, registers: [UInt16]) throws {
        let format = ModbusValueFormat(.f32, order: order)
        #expect(try format.encode(.f32(Float(bitPattern: 0x4049_0FDB))) == registers)
        #expect(try format.decode(registers) == .f32(Float(bitPattern: 0x4049_0FDB)))
    }

    /// u64 0x0102030405060708: A..H = 01..08.
    @Test(arguments: [
        (ModbusWordOrder.abcd, [UInt16(0x0102), 0x0304, 0x0506, 0x0708]),
        (.cdab, [0x0708, 0x0506, 0x0304, 0x0102]),
        (.badc, [0x0201, 0x0403, 0x0605, 0x0807]),
        (.dcba, [0x0807, 0x0605, 0x0403, 0x0201]),
    ])
    func sixtyFourBitKnownPattern(order: ModbusWordOrder, registers: [UInt16]) throws {
        let format = ModbusValueFormat(.u64, order: order)
        #expect(try format.encode(.u64(0x0102_0304_0506_0708)) == registers)
        #expect(try format.decode(registers) == .u64(0x0102_0304_0506_0708))
    }

    @Test func sixteenBitOrders() throws {
        #expect(try ModbusValueFormat(.u16, order: .abcd).encode(.u16(0x1234)) == [0x1234])
        #expect(try ModbusValueFormat(.u16, order: .cdab).encode(.u16(0x1234)) == [0x1234])
        #expect(try ModbusValueFormat(.u16, order: .badc).encode(.u16(0x1234)) == [0x3412])
        #expect(try ModbusValueFormat(.i16, order: .dcba).decode([0x3412]) == .i16(0x1234))
        #expect(try ModbusValueFormat(.i16).decode([0xFFFE]) == .i16(-2))
    }

    static let samples: [ModbusValue] = [
        .u16(0), .u16(65535), .i16(-32768), .i16(-1), .u32(0xDEAD_BEEF), .i32(Int32.min), .i32(-123_456_789),
        .f32(-0.0), .f32(Float(bitPattern: 1)), .f32(Float.greatestFiniteMagnitude), .f32(.infinity), .f32(-.infinity),
        .u64(UInt64.max), .u64(12_345_678_901_234_567_890), .f64(-9876.54321), .f64(.leastNonzeroMagnitude), .f64(-.infinity),
    ]

    @Test(arguments: ModbusWordOrder.allCases)
    func roundTripsEveryTypeAndOrder(order: ModbusWordOrder) throws {
        for value in Self.samples {
            let format = ModbusValueFormat(value.type, order: order)
            let registers = try format.encode(value)
            #expect(registers.count == value.type.registerCount)
            #expect(try format.decode(registers) == value, "\(value) \(order)")
        }
    }

    @Test func nanSurvivesRoundTrip() throws {
        for order in ModbusWordOrder.allCases {
            let f32 = ModbusValueFormat(.f32, order: order)
            #expect(try f32.decodeNumber(f32.encode(number: .nan)).isNaN)
            let f64 = ModbusValueFormat(.f64, order: order)
            #expect(try f64.decodeNumber(f64.encode(number: .nan)).isNaN)
        }
        #expect(try ModbusValueFormat(.f32).decode([0x7FC0, 0x0000]).doubleValue.isNaN)
    }

    @Test func scaledFixedPoint() throws {
        let volts = ModbusValueFormat(.u16, scale: 0.1)
        #expect(try volts.encode(number: 230.5) == [2305])
        #expect(abs(try volts.decodeNumber([2305]) - 230.5) < 1e-9)
        let money = ModbusValueFormat(.i32, order: .cdab, scale: 0.01)
        let registers = try money.encode(number: -123.45)
        #expect(try money.decode(registers) == .i32(-12345))
        let kilo = ModbusValueFormat(.u16, scale: 10)
        #expect(try kilo.encode(number: 12340) == [1234])
    }

    @Test func overflowOnEncodeIsAnError() {
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.u16).encode(number: 65536) }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.u16).encode(number: -1) }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.i16).encode(number: 32768) }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.u32).encode(number: .nan) }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.u16, scale: 0.1).encode(number: 6553.6) }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.f32).encode(number: 1e39) }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.f32).encode(.u16(1)) }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.f32).decode([1]) }
    }

    @Test func encodeText() throws {
        #expect(try ModbusValueFormat(.u16).encode(text: "0x1F") == [0x1F])
        #expect(try ModbusValueFormat(.u64).encode(text: "18446744073709551615") == [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF])
        #expect(try ModbusValueFormat(.i16).encode(text: "-2") == [0xFFFE])
        #expect(try ModbusValueFormat(.f32).encode(text: "inf") == [0x7F80, 0])
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.u16).encode(text: "1.5") }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.u16).encode(text: "70000") }
        #expect(throws: ModbusValueError.self) { try ModbusValueFormat(.u16).encode(text: "volts") }
    }

    @Test func parsesNames() {
        #expect(ModbusDataType(name: "F32") == .f32)
        #expect(ModbusDataType(name: "float64") == .f64)
        #expect(ModbusDataType(name: "f99") == nil)
        #expect(ModbusWordOrder(name: "cdab") == .cdab)
        #expect(ModbusWordOrder(name: "ABDC") == nil)
        #expect(ModbusTable(name: "holding") == .holdingRegister)
        #expect(ModbusTable(name: "discrete") == .discreteInput)
        #expect(ModbusParity(name: "E") == .even)
        #expect(RS485Mode(name: "if-supported") == .ifSupported)
        #expect(ModbusDuration.parse("500ms") == .milliseconds(500))
        #expect(ModbusDuration.parse("2s") == .seconds(2))
        #expect(ModbusDuration.parse("0s") == nil)
        #expect(ModbusDuration.format(.milliseconds(500)) == "500 ms")
    }

    @Test func registerCounts() {
        #expect(ModbusDataType.allCases.map(\.registerCount) == [1, 1, 2, 2, 2, 4, 4])
    }
}

@Suite("Simulated Modbus bus")
struct ModbusSimulatedBusTests {
    func bus() async -> SimulatedModbusBus {
        let bus = SimulatedModbusBus(description: "sim")
        var unit = SimulatedModbusUnit(bits: 16, registers: 32)
        unit.holdingRegisters[0] = 7
        await bus.setUnit(1, unit)
        await bus.setUnit(2, SimulatedModbusUnit())
        return bus
    }

    @Test func readsWritesAndOutOfRange() async throws {
        let bus = await bus()
        #expect(try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1) == [7])
        try await bus.writeRegisters(unit: 1, address: 4, values: [1, 2])
        #expect(try await bus.readHoldingRegisters(unit: 1, address: 4, count: 2) == [1, 2])
        try await bus.writeCoil(unit: 1, address: 3, value: true)
        #expect(try await bus.readCoils(unit: 1, address: 2, count: 2) == [false, true])
        let error = await #expect(throws: ModbusError.self) { try await bus.readHoldingRegisters(unit: 1, address: 31, count: 2) }
        #expect(error?.kind == .exception(.illegalDataAddress))
        #expect(error?.code == "modbus.illegal-data-address")
        await #expect(throws: ModbusError.self) { try await bus.readHoldingRegisters(unit: 1, address: 0, count: 126) }
    }

    @Test func deadUnitTimesOutAndOthersAnswer() async throws {
        let bus = await bus()
        await bus.setBehaviour(1, .dead)
        let started = ContinuousClock.now
        let error = await #expect(throws: ModbusError.self) {
            try await bus.readHoldingRegisters(unit: 1, address: 0, count: 1, timeout: .seconds(30))
        }
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(error?.kind == .timeout)
        #expect(error?.description.contains("did not answer within 30 s") == true)
        #expect(try await bus.readHoldingRegisters(unit: 2, address: 0, count: 1) == [0])
        let absent = await #expect(throws: ModbusError.self) { try await bus.readCoils(unit: 9, address: 0, count: 1) }
        #expect(absent?.kind == .timeout)
    }

    @Test func waitsOutTimeoutWhenAsked() async throws {
        let bus = SimulatedModbusBus(waitsOutTimeouts: true)
        let started = ContinuousClock.now
        await #expect(throws: ModbusError.self) { try await bus.readCoils(unit: 1, address: 0, count: 1, timeout: .milliseconds(100)) }
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }

    @Test func exceptionBehaviour() async throws {
        let bus = await bus()
        await bus.setBehaviour(2, .exception(.serverDeviceBusy))
        let error = await #expect(throws: ModbusError.self) { try await bus.readInputRegisters(unit: 2, address: 0, count: 1) }
        #expect(error?.code == "modbus.server-device-busy")
    }

    @Test func readHookComputesRegisters() async throws {
        let bus = await bus()
        // An "energy meter": input registers 0-1 hold power as f32, following a dim level.
        await bus.setReadHook(2) { table, _, unit in
            guard table == .inputRegister else { return }
            try? unit.set(.inputRegister, address: 0, number: 42.5, format: ModbusValueFormat(.f32))
        }
        let watts = try await bus.readNumber(.inputRegister, unit: 2, address: 0, format: ModbusValueFormat(.f32))
        #expect(watts == 42.5)
    }
}
