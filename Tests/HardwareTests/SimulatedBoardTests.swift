import Synchronization
import Testing
@testable import Hardware
import Clocks

@Suite("Simulated board")
struct SimulatedBoardTests {
    let f32 = ModbusValueFormat(.f32, order: .abcd)

    func read(_ board: SimulatedBoard, _ register: SimulatedEnergyMeter.Register) async throws -> Double {
        try await board.modbus.readNumber(.inputRegister, unit: SimulatedBoard.meterUnit, address: register.rawValue, format: f32)
    }

    @Test func meterFollowsRelayAndDimLevel() async throws {
        let time = SimulatedClock()
        let board = await SimulatedBoard(lamp: SimulatedLamp(nominalPowerWatts: 60, minimumPowerWatts: 6, warmUpSeconds: 2), clock: time)
        #expect(try await read(board, .activePower) == 0)
        #expect(try await read(board, .voltage) == 230)

        let relay = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: true)
        time.advance(by: .seconds(10))  // past warm-up
        #expect(abs(try await read(board, .activePower) - 60) < 0.01)
        #expect(abs(try await read(board, .current) - 60 / 0.95 / 230) < 0.001)
        #expect(abs(try await read(board, .powerFactor) - 0.95) < 0.0001)

        // 50 % duty on the dim input: 6 W + 54 W × 0.5.
        try await board.lampPWM.apply(PWMState(periodNanoseconds: 1_000_000, dutyCycleNanoseconds: 500_000, polarity: .normal, enabled: true))
        #expect(abs(try await read(board, .activePower) - 33) < 0.01)

        try await relay.write(false)
        time.advance(by: .seconds(1))
        #expect(try await read(board, .activePower) == 0)
    }

    @Test func energyIntegratesAndWarmUpRamps() async throws {
        let time = SimulatedClock()
        let board = await SimulatedBoard(lamp: SimulatedLamp(nominalPowerWatts: 100, minimumPowerWatts: 10, warmUpSeconds: 10), initialEnergyKilowattHours: 5, clock: time)
        _ = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: true)
        _ = try await read(board, .activePower)  // switch-on is seen now
        time.advance(by: .seconds(5))
        let warming = try await read(board, .activePower)
        #expect(warming > 30 && warming < 100)  // 30 % + 70 % × 0.5 = 65 W
        time.advance(by: .seconds(3600))
        #expect(abs(try await read(board, .activePower) - 100) < 0.01)
        let energy = try await read(board, .totalActiveEnergy)
        // 5 s at 30 → 65 W ramp (recorded at 30 W), then an hour at 65 W: about 0.065 kWh added.
        #expect(energy > 5.06 && energy < 5.07)
    }

    @Test func faultsShowOnTheMeterAndTheContacts() async throws {
        let time = SimulatedClock()
        let board = await SimulatedBoard(clock: time)
        _ = try await board.gpio.requestOutput(.name(SimulatedBoard.relayLine), initialValue: true)
        time.advance(by: .seconds(10))
        board.setLampFault(.ledFailure, active: true)
        #expect(try await read(board, .activePower) == 0.5)  // standby only

        let mains = try await board.gpio.requestInput(.name("MAINS_PRESENT"))
        let battery = try await board.gpio.requestInput(.name("ON_BATTERY"))
        #expect(try await mains.read() == true)
        try board.setMainsPresent(false)
        #expect(try await mains.read() == false)
        #expect(try await battery.read() == true)
        #expect(try await read(board, .voltage) == 0)
        #expect(try await read(board, .activePower) == 0)

        await board.setMeterAnswering(false)
        await #expect(throws: ModbusError.self) { try await read(board, .voltage) }
        await board.setMeterAnswering(true)
        #expect(try await read(board, .frequency) == 0)  // still no mains
    }

    @Test func dayBurnerDrawsPowerWithTheRelayOpen() async throws {
        let time = SimulatedClock()
        let board = await SimulatedBoard(clock: time)
        board.setLampFault(.stuckOn, active: true)
        #expect(try await read(board, .activePower) == 60)
        #expect(board.lamp().relayClosed == false)
    }

    @Test func doorContactProducesEdges() async throws {
        let board = await SimulatedBoard()
        let door = try await board.gpio.requestEdgeEvents(.name("CABINET_DOOR"))
        try board.setCabinetDoorOpen(true)
        let edge = try await door.waitForEdge(timeout: .seconds(1))
        #expect(edge?.edge == .rising)
        #expect(try await door.read() == true)
    }
}
