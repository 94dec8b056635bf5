/// The seam between the agent and a Modbus bus (STYLE.md rule 12).
///
/// Addresses are the 0-based protocol addresses that go on the wire
/// (register "40001" in a vendor's table is address 0 of the holding
/// registers). Every request names its unit id (1...247; 0 is broadcast,
/// 255 is common on Modbus TCP gateways).

/// A Modbus master on one bus (an RTU serial line or a TCP connection).
///
/// One bus serialises its requests; a unit that does not answer costs one
/// timeout and never blocks the other units for longer.
///
/// `timeout` is the response timeout for that one request; `nil` uses the
/// bus's default. Counts: 1...2000 bits or 1...125 registers per read,
/// 1...1968 coils or 1...123 registers per write; out-of-range counts throw
/// `ModbusError` with kind `.invalidArgument` before anything is sent.
/// Every error thrown is a `ModbusError`.
public protocol ModbusClient: Sendable {
    /// Where the bus is, for messages: `/dev/ttyS1` or `192.0.2.10:502`.
    var description: String { get }

    func readCoils(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [Bool]
    func readDiscreteInputs(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [Bool]
    func readHoldingRegisters(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [UInt16]
    func readInputRegisters(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [UInt16]

    func writeCoil(unit: UInt8, address: UInt16, value: Bool, timeout: Duration?) async throws
    func writeCoils(unit: UInt8, address: UInt16, values: [Bool], timeout: Duration?) async throws
    func writeRegister(unit: UInt8, address: UInt16, value: UInt16, timeout: Duration?) async throws
    func writeRegisters(unit: UInt8, address: UInt16, values: [UInt16], timeout: Duration?) async throws
}

extension ModbusClient {
    // The same requests with the bus's default response timeout.

    public func readCoils(unit: UInt8, address: UInt16, count: Int) async throws -> [Bool] {
        try await readCoils(unit: unit, address: address, count: count, timeout: nil)
    }
    public func readDiscreteInputs(unit: UInt8, address: UInt16, count: Int) async throws -> [Bool] {
        try await readDiscreteInputs(unit: unit, address: address, count: count, timeout: nil)
    }
    public func readHoldingRegisters(unit: UInt8, address: UInt16, count: Int) async throws -> [UInt16] {
        try await readHoldingRegisters(unit: unit, address: address, count: count, timeout: nil)
    }
    public func readInputRegisters(unit: UInt8, address: UInt16, count: Int) async throws -> [UInt16] {
        try await readInputRegisters(unit: unit, address: address, count: count, timeout: nil)
    }
    public func writeCoil(unit: UInt8, address: UInt16, value: Bool) async throws {
        try await writeCoil(unit: unit, address: address, value: value, timeout: nil)
    }
    public func writeCoils(unit: UInt8, address: UInt16, values: [Bool]) async throws {
        try await writeCoils(unit: unit, address: address, values: values, timeout: nil)
    }
    public func writeRegister(unit: UInt8, address: UInt16, value: UInt16) async throws {
        try await writeRegister(unit: unit, address: address, value: value, timeout: nil)
    }
    public func writeRegisters(unit: UInt8, address: UInt16, values: [UInt16]) async throws {
        try await writeRegisters(unit: unit, address: address, values: values, timeout: nil)
    }

    /// Reads `count` registers from a register table (holding or input).
    public func readRegisters(
        _ table: ModbusTable, unit: UInt8, address: UInt16, count: Int, timeout: Duration? = nil
    ) async throws -> [UInt16] {
        switch table {
        case .holdingRegister: try await readHoldingRegisters(unit: unit, address: address, count: count, timeout: timeout)
        case .inputRegister: try await readInputRegisters(unit: unit, address: address, count: count, timeout: timeout)
        case .coil, .discreteInput:
            throw ModbusError(.invalidArgument, bus: description, unit: unit, detail: "\(table.rawValue) holds bits, not registers")
        }
    }

    /// Reads `count` bits from a bit table (coil or discrete input).
    public func readBits(
        _ table: ModbusTable, unit: UInt8, address: UInt16, count: Int, timeout: Duration? = nil
    ) async throws -> [Bool] {
        switch table {
        case .coil: try await readCoils(unit: unit, address: address, count: count, timeout: timeout)
        case .discreteInput: try await readDiscreteInputs(unit: unit, address: address, count: count, timeout: timeout)
        case .holdingRegister, .inputRegister:
            throw ModbusError(.invalidArgument, bus: description, unit: unit, detail: "\(table.rawValue) holds registers, not bits")
        }
    }

    /// Reads one typed value (`format.registerCount` registers) and returns the
    /// physical value (raw × scale).
    public func readNumber(
        _ table: ModbusTable, unit: UInt8, address: UInt16, format: ModbusValueFormat, timeout: Duration? = nil
    ) async throws -> Double {
        let registers = try await readRegisters(table, unit: unit, address: address, count: format.registerCount, timeout: timeout)
        do {
            return try format.decodeNumber(registers)
        } catch {
            throw ModbusError(.invalidResponse, bus: description, unit: unit, detail: error.message)
        }
    }
}

/// Checks a request's unit, address and count before it goes on any bus,
/// so the live and simulated buses refuse the same requests the same way.
enum ModbusRequestLimits {
    static let maxReadBits = 2000
    static let maxWriteBits = 1968
    static let maxReadRegisters = 125
    static let maxWriteRegisters = 123

    static func check(bus: String, unit: UInt8, address: UInt16, count: Int, max: Int, what: String) throws(ModbusError) {
        guard (1...max).contains(count) else {
            throw ModbusError(.invalidArgument, bus: bus, unit: unit, detail: "count \(count) \(what) is outside 1…\(max)")
        }
        guard Int(address) + count <= 65536 else {
            throw ModbusError(.invalidArgument, bus: bus, unit: unit,
                              detail: "address \(address) + count \(count) goes past 65535")
        }
        guard unit <= 247 || unit == 255 else {
            throw ModbusError(.invalidArgument, bus: bus, unit: unit, detail: "unit id \(unit) is outside 0…247 (255 for TCP gateways)")
        }
    }
}
