/// The four data banks of one simulated Modbus unit.
///
/// Each bank is a contiguous range starting at address 0; an address at or
/// past a bank's end answers exception 02 (illegal data address), like a
/// real device outside its register map.
public struct SimulatedModbusUnit: Sendable, Equatable {
    public var coils: [Bool]
    public var discreteInputs: [Bool]
    public var holdingRegisters: [UInt16]
    public var inputRegisters: [UInt16]

    /// How the unit behaves on the bus.
    public enum Behaviour: Sendable, Equatable {
        /// Answers normally.
        case answering
        /// Never answers: every request throws `ModbusError` kind `.timeout`.
        case dead
        /// Answers every request with this exception.
        case exception(ModbusException)
    }

    public var behaviour: Behaviour = .answering

    /// A unit with `bits` coils and discrete inputs and `registers` holding
    /// and input registers, all zero.
    public init(bits: Int = 100, registers: Int = 100) {
        coils = Array(repeating: false, count: bits)
        discreteInputs = Array(repeating: false, count: bits)
        holdingRegisters = Array(repeating: 0, count: registers)
        inputRegisters = Array(repeating: 0, count: registers)
    }

    /// Stores `value` at `address` of a register table, laid out by `format`.
    public mutating func set(
        _ table: ModbusTable, address: UInt16, number: Double, format: ModbusValueFormat
    ) throws(ModbusValueError) {
        let words = try format.encode(number: number)
        for (offset, word) in words.enumerated() {
            let index = Int(address) + offset
            switch table {
            case .holdingRegister: holdingRegisters[index] = word
            case .inputRegister: inputRegisters[index] = word
            case .coil, .discreteInput: throw ModbusValueError("\(table.rawValue) holds bits, not registers")
            }
        }
    }
}

/// A Modbus bus held in memory, for tests, scenarios and `lampd --simulate`.
///
/// Units answer from their banks; a unit id with no unit, or a unit made
/// `.dead`, throws the same `ModbusError.timeout` the live bus throws —
/// immediately, unless `waitsOutTimeouts` is set, in which case it sleeps
/// the request's timeout first. Out-of-range addresses answer exception 02.
///
/// A read hook lets a simulated device compute its registers when they are
/// read (an energy meter whose power follows the lamp's dim level): it runs
/// before every read of that unit and may change the unit's banks.
public actor SimulatedModbusBus: ModbusClient {
    /// Called before each read of a unit, with the table and the range read;
    /// may update the unit's banks (the read then returns the updated values).
    public typealias ReadHook = @Sendable (_ table: ModbusTable, _ addresses: Range<Int>, _ unit: inout SimulatedModbusUnit) -> Void

    public nonisolated let description: String
    /// The response timeout used when a request names none.
    public let defaultTimeout: Duration
    /// Whether a dead unit really makes the caller wait its timeout.
    public var waitsOutTimeouts: Bool

    private var units: [UInt8: SimulatedModbusUnit] = [:]
    private var hooks: [UInt8: ReadHook] = [:]
    /// Every request served, oldest first, as "read holding 1@100×2" — for tests.
    public private(set) var log: [String] = []
    /// How many requests `log` keeps at most (it then drops the older half).
    public static let logLimit = 2000

    public init(description: String = "simulated", defaultTimeout: Duration = .milliseconds(500), waitsOutTimeouts: Bool = false) {
        self.description = description
        self.defaultTimeout = defaultTimeout
        self.waitsOutTimeouts = waitsOutTimeouts
    }

    // MARK: Scenario control

    /// Adds or replaces a unit.
    public func setUnit(_ id: UInt8, _ unit: SimulatedModbusUnit) { units[id] = unit }
    /// Removes a unit: requests to it time out.
    public func removeUnit(_ id: UInt8) { units[id] = nil; hooks[id] = nil }
    /// A copy of a unit's state.
    public func unit(_ id: UInt8) -> SimulatedModbusUnit? { units[id] }
    /// Changes a unit in place (set registers, make it dead…). No-op for an absent unit.
    public func update(_ id: UInt8, _ change: @Sendable (inout SimulatedModbusUnit) -> Void) {
        guard var unit = units[id] else { return }
        change(&unit)
        units[id] = unit
    }
    /// Sets how a unit behaves on the bus.
    public func setBehaviour(_ id: UInt8, _ behaviour: SimulatedModbusUnit.Behaviour) {
        units[id]?.behaviour = behaviour
    }
    /// Installs (or with nil removes) the read hook of a unit.
    public func setReadHook(_ id: UInt8, _ hook: ReadHook?) { hooks[id] = hook }
    /// Makes dead units sleep out their timeout (or not).
    public func setWaitsOutTimeouts(_ wait: Bool) { waitsOutTimeouts = wait }

    // MARK: ModbusClient

    public func perform(_ request: ModbusRequest) async throws -> ModbusResponse {
        try request.check(bus: description)
        let unit = request.unit
        let (address, count) = request.addresses
        let range = Int(address)..<Int(address) + count
        switch request.function {
        case .read(let table, _, _):
            var state = try await answeringUnit(unit, timeout: request.timeout, request: "read \(table.rawValue) \(unit)@\(address)×\(count)")
            if let hook = hooks[unit] {
                hook(table, range, &state)
                units[unit] = state
            }
            switch table {
            case .coil: return .bits(try slice(state.coils, range, unit))
            case .discreteInput: return .bits(try slice(state.discreteInputs, range, unit))
            case .holdingRegister: return .registers(try slice(state.holdingRegisters, range, unit))
            case .inputRegister: return .registers(try slice(state.inputRegisters, range, unit))
            }
        case .writeCoil(_, let value): try await write(\.coils, [value], "coil", request)
        case .writeCoils(_, let values): try await write(\.coils, values, "coil", request)
        case .writeRegister(_, let value): try await write(\.holdingRegisters, [value], "holding", request)
        case .writeRegisters(_, let values): try await write(\.holdingRegisters, values, "holding", request)
        }
        return .written
    }

    // MARK: Internals

    private func slice<T>(_ bank: [T], _ range: Range<Int>, _ unit: UInt8) throws(ModbusError) -> [T] {
        guard range.upperBound <= bank.count else { throw exception(.illegalDataAddress, unit) }
        return Array(bank[range])
    }

    /// Writes `values` into a bank of an answering unit; exception 02 when they run past its end.
    private func write<T>(
        _ bank: WritableKeyPath<SimulatedModbusUnit, [T]>, _ values: [T], _ name: String, _ request: ModbusRequest
    ) async throws {
        let (unit, address) = (request.unit, request.addresses.first)
        var state = try await answeringUnit(unit, timeout: request.timeout, request: "write \(name) \(unit)@\(address)×\(values.count)")
        let range = Int(address)..<Int(address) + values.count
        guard range.upperBound <= state[keyPath: bank].count else { throw exception(.illegalDataAddress, unit) }
        state[keyPath: bank].replaceSubrange(range, with: values)
        units[unit] = state
    }

    /// The unit's state if it answers; otherwise the error the live bus would throw.
    private func answeringUnit(_ id: UInt8, timeout: Duration?, request: String) async throws -> SimulatedModbusUnit {
        log.append(request)
        // Keep the newest requests only: the simulated board may run for weeks.
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit / 2) }
        let timeout = timeout ?? defaultTimeout
        guard let unit = units[id], unit.behaviour != .dead else {
            if waitsOutTimeouts { try await Task.sleep(for: timeout) }
            throw ModbusError(.timeout, bus: description, unit: id, timeout: timeout)
        }
        if case .exception(let code) = unit.behaviour { throw exception(code, id) }
        return unit
    }

    private func exception(_ code: ModbusException, _ unit: UInt8) -> ModbusError {
        ModbusError(.exception(code), bus: description, unit: unit)
    }
}
