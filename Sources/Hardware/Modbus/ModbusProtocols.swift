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
public protocol ModbusClient: Sendable {
    /// Where the bus is, for messages: `/dev/ttyS1` or `192.0.2.10:502`.
    var description: String { get }

    func readCoils(unit: UInt8, address: UInt16, count: Int) async throws -> [Bool]
    func readDiscreteInputs(unit: UInt8, address: UInt16, count: Int) async throws -> [Bool]
    func readHoldingRegisters(unit: UInt8, address: UInt16, count: Int) async throws -> [UInt16]
    func readInputRegisters(unit: UInt8, address: UInt16, count: Int) async throws -> [UInt16]

    func writeCoil(unit: UInt8, address: UInt16, value: Bool) async throws
    func writeCoils(unit: UInt8, address: UInt16, values: [Bool]) async throws
    func writeRegister(unit: UInt8, address: UInt16, value: UInt16) async throws
    func writeRegisters(unit: UInt8, address: UInt16, values: [UInt16]) async throws
}
