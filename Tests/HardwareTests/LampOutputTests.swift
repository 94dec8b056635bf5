import Synchronization
import Testing
@testable import Hardware
import Clocks

@Suite("Lamp outputs")
struct LampOutputTests {
    let f32 = ModbusValueFormat(.f32, order: .abcd)

    func power(_ board: SimulatedBoard) async throws -> Double {
        try await board.modbus.readNumber(.inputRegister, unit: SimulatedBoard.meterUnit,
                                          address: SimulatedEnergyMeter.Register.activePower.rawValue, format: f32)
    }

    @Test func relayOnlySwitchesTheSimulatedLamp() async throws {
        let time = SimulatedClock()
        let board = await SimulatedBoard(clock: time)
        let relay = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: false)
        let output = RelayLampOutput(relay: relay)

        try await output.setLevel(percent: 40)
        time.advance(by: .seconds(10))
        #expect(try await output.readBack() == LampOutputState(switchedOn: true, levelPercent: 100))
        #expect(abs(try await power(board) - 60) < 0.01)

        try await output.setLevel(percent: 0)
        time.advance(by: .seconds(1))
        #expect(try await output.readBack() == LampOutputState(switchedOn: false, levelPercent: 0))
        #expect(try await power(board) == 0)
    }

    @Test func relayAndPWMDimTheSimulatedLamp() async throws {
        let time = SimulatedClock()
        let board = await SimulatedBoard(clock: time)
        let relay = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: false)
        let output = DimmedRelayLampOutput(relay: relay, pwm: board.lampPWM, minimumLevelPercent: 10)

        try await output.setLevel(percent: 50)
        time.advance(by: .seconds(10))
        #expect(try await output.readBack() == LampOutputState(switchedOn: true, levelPercent: 50))
        // 60 W lamp, 6 W at its lowest level: 6 + 54 × 0.5 = 33 W.
        #expect(abs(try await power(board) - 33) < 0.01)

        // Below the minimum dim level but above 0: raised to 10 %.
        try await output.setLevel(percent: 3)
        #expect(try await output.readBack().levelPercent == 10)
        #expect(abs(try await power(board) - 11.4) < 0.01)

        try await output.setLevel(percent: 100)
        #expect(abs(try await power(board) - 60) < 0.01)

        try await output.setLevel(percent: 0)
        time.advance(by: .seconds(1))
        #expect(try await output.readBack() == LampOutputState(switchedOn: false, levelPercent: 0))
        #expect(try await power(board) == 0)
        #expect(try board.gpio.level(.name(SimulatedBoard.relayLine)) == false)
    }

    @Test func dimLevelIsSetBeforeTheRelayCloses() async throws {
        let board = await SimulatedBoard()
        let relay = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: false)
        let output = DimmedRelayLampOutput(relay: relay, pwm: board.lampPWM)
        try await output.setLevel(percent: 60)
        // The PWM history shows 60 % applied; the relay closed once, after it.
        #expect(board.lampPWM.history.last?.dutyFraction == 0.6)
        #expect(try board.gpio.outputHistory(.name(SimulatedBoard.relayLine)).last?.value == true)
    }

    @Test func invertedDimmingForZeroToTenVoltConverters() async throws {
        let board = await SimulatedBoard()
        let relay = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: false)
        let output = DimmedRelayLampOutput(relay: relay, pwm: board.lampPWM,
                                           dimming: PWMDimming(periodNanoseconds: 1_000_000, inverted: true))
        try await output.setLevel(percent: 30)
        #expect(board.lampPWM.currentState.dutyCycleNanoseconds == 700_000)
        #expect(try await output.readBack() == LampOutputState(switchedOn: true, levelPercent: 30))
    }

    @Test func levelsOutsideZeroToHundredAreRefused() async throws {
        let board = await SimulatedBoard()
        let relay = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: false)
        let output = DimmedRelayLampOutput(relay: relay, pwm: board.lampPWM)
        await #expect(throws: LampOutputError.self) { try await output.setLevel(percent: 120) }
        await #expect(throws: LampOutputError.self) { try await output.setLevel(percent: .nan) }
        #expect(try board.gpio.level(.name(SimulatedBoard.relayLine)) == false)
    }

    @Test func modbusRegisterScalesPercentToTheGatewaysRange() async throws {
        let bus = SimulatedModbusBus()
        await bus.setUnit(5, SimulatedModbusUnit(registers: 20))
        let output = ModbusRegisterLampOutput(client: bus, unit: 5, address: 10, scale: 2.54, minimumLevelPercent: 5)

        try await output.setLevel(percent: 100)
        #expect(await bus.unit(5)?.holdingRegisters[10] == 254)
        try await output.setLevel(percent: 50)
        #expect(await bus.unit(5)?.holdingRegisters[10] == 127)
        #expect(try await output.readBack() == LampOutputState(switchedOn: true, levelPercent: 50))
        try await output.setLevel(percent: 1)
        #expect(await bus.unit(5)?.holdingRegisters[10] == 13)  // raised to 5 %: 12.7 → 13
        try await output.setLevel(percent: 0)
        #expect(await bus.unit(5)?.holdingRegisters[10] == 0)
        #expect(try await output.readBack() == LampOutputState(switchedOn: false, levelPercent: 0))
    }

    @Test func modbusGatewayThatDoesNotAnswerThrows() async throws {
        let bus = SimulatedModbusBus()
        await bus.setUnit(5, SimulatedModbusUnit(registers: 20))
        await bus.setBehaviour(5, .dead)
        let output = ModbusRegisterLampOutput(client: bus, unit: 5, address: 10)
        await #expect(throws: ModbusError.self) { try await output.setLevel(percent: 100) }
    }
}
