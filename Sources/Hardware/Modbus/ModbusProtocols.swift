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
/// An implementation writes one method, `perform(_:)`; the typed requests
/// (`readCoils`, `writeRegister`, …) are built on it. A request's `timeout`
/// is the response timeout for that one request; `nil` uses the bus's
/// default. Counts: 1...2000 bits or 1...125 registers per read, 1...1968
/// coils or 1...123 registers per write; out-of-range counts throw
/// `ModbusError` with kind `.invalidArgument` before anything is sent
/// (`ModbusRequest.check(bus:)`). Every error thrown is a `ModbusError`.
public protocol ModbusClient: Sendable {
    /// Where the bus is, for messages: `/dev/ttyS1` or `192.0.2.10:502`.
    var description: String { get }

    /// Sends one request and returns its answer: `.bits` for a coil or
    /// discrete-input read, `.registers` for a register read, `.written` for
    /// a write.
    func perform(_ request: ModbusRequest) async throws -> ModbusResponse
}

/// One Modbus request: the unit it goes to, what it asks, and its response timeout.
public struct ModbusRequest: Sendable, Hashable {
    /// What a request asks of the unit; each case is one Modbus function code.
    public enum Function: Sendable, Hashable {
        /// Reads `count` items of a table (function codes 1, 2, 3, 4).
        case read(ModbusTable, address: UInt16, count: Int)
        /// Writes one coil (function code 5).
        case writeCoil(address: UInt16, value: Bool)
        /// Writes consecutive coils (function code 15).
        case writeCoils(address: UInt16, values: [Bool])
        /// Writes one holding register (function code 6).
        case writeRegister(address: UInt16, value: UInt16)
        /// Writes consecutive holding registers (function code 16).
        case writeRegisters(address: UInt16, values: [UInt16])
    }

    /// Unit id: 1...247 (0 is broadcast, 255 is common on Modbus TCP gateways).
    public var unit: UInt8
    public var function: Function
    /// The response timeout of this request; nil uses the bus's default.
    public var timeout: Duration?

    public init(unit: UInt8, _ function: Function, timeout: Duration? = nil) {
        self.unit = unit
        self.function = function
        self.timeout = timeout
    }

    /// Whether the request changes the unit (a lamp command): the live bus
    /// sends writes ahead of queued reads.
    public var isWrite: Bool {
        if case .read = function { return false }
        return true
    }

    /// The first address and how many items the request covers.
    public var addresses: (first: UInt16, count: Int) {
        switch function {
        case .read(_, let address, let count): (address, count)
        case .writeCoil(let address, _), .writeRegister(let address, _): (address, 1)
        case .writeCoils(let address, let values): (address, values.count)
        case .writeRegisters(let address, let values): (address, values.count)
        }
    }

    /// Checks unit, address and count before the request goes on any bus, so
    /// the live and simulated buses refuse the same requests the same way.
    public func check(bus: String) throws(ModbusError) {
        let (address, count) = addresses
        let (max, what): (Int, String) = switch function {
        case .read(.coil, _, _): (ModbusRequestLimits.maxReadBits, "coils")
        case .read(.discreteInput, _, _): (ModbusRequestLimits.maxReadBits, "discrete inputs")
        case .read(.holdingRegister, _, _), .read(.inputRegister, _, _): (ModbusRequestLimits.maxReadRegisters, "registers")
        case .writeCoil: (1, "coil")
        case .writeCoils: (ModbusRequestLimits.maxWriteBits, "coils")
        case .writeRegister: (1, "register")
        case .writeRegisters: (ModbusRequestLimits.maxWriteRegisters, "registers")
        }
        try ModbusRequestLimits.check(bus: bus, unit: unit, address: address, count: count, max: max, what: what)
    }
}

/// The answer to one `ModbusRequest`.
public enum ModbusResponse: Sendable, Hashable {
    /// Coils or discrete inputs read, in address order.
    case bits([Bool])
    /// Registers read, in address order.
    case registers([UInt16])
    /// A write the unit acknowledged.
    case written
}

extension ModbusClient {
    // The typed requests; `timeout: nil` uses the bus's default response timeout.

    public func readCoils(unit: UInt8, address: UInt16, count: Int, timeout: Duration? = nil) async throws -> [Bool] {
        try await bits(ModbusRequest(unit: unit, .read(.coil, address: address, count: count), timeout: timeout))
    }
    public func readDiscreteInputs(unit: UInt8, address: UInt16, count: Int, timeout: Duration? = nil) async throws -> [Bool] {
        try await bits(ModbusRequest(unit: unit, .read(.discreteInput, address: address, count: count), timeout: timeout))
    }
    public func readHoldingRegisters(unit: UInt8, address: UInt16, count: Int, timeout: Duration? = nil) async throws -> [UInt16] {
        try await registers(ModbusRequest(unit: unit, .read(.holdingRegister, address: address, count: count), timeout: timeout))
    }
    public func readInputRegisters(unit: UInt8, address: UInt16, count: Int, timeout: Duration? = nil) async throws -> [UInt16] {
        try await registers(ModbusRequest(unit: unit, .read(.inputRegister, address: address, count: count), timeout: timeout))
    }
    public func writeCoil(unit: UInt8, address: UInt16, value: Bool, timeout: Duration? = nil) async throws {
        _ = try await perform(ModbusRequest(unit: unit, .writeCoil(address: address, value: value), timeout: timeout))
    }
    public func writeCoils(unit: UInt8, address: UInt16, values: [Bool], timeout: Duration? = nil) async throws {
        _ = try await perform(ModbusRequest(unit: unit, .writeCoils(address: address, values: values), timeout: timeout))
    }
    public func writeRegister(unit: UInt8, address: UInt16, value: UInt16, timeout: Duration? = nil) async throws {
        _ = try await perform(ModbusRequest(unit: unit, .writeRegister(address: address, value: value), timeout: timeout))
    }
    public func writeRegisters(unit: UInt8, address: UInt16, values: [UInt16], timeout: Duration? = nil) async throws {
        _ = try await perform(ModbusRequest(unit: unit, .writeRegisters(address: address, values: values), timeout: timeout))
    }

    private func bits(_ request: ModbusRequest) async throws -> [Bool] {
        guard case .bits(let bits) = try await perform(request) else {
            throw ModbusError(.invalidResponse, bus: description, unit: request.unit, detail: "registers where bits were asked for")
        }
        return bits
    }

    private func registers(_ request: ModbusRequest) async throws -> [UInt16] {
        guard case .registers(let registers) = try await perform(request) else {
            throw ModbusError(.invalidResponse, bus: description, unit: request.unit, detail: "bits where registers were asked for")
        }
        return registers
    }

    /// Reads `count` registers from a register table (holding or input).
    public func readRegisters(
        _ table: ModbusTable, unit: UInt8, address: UInt16, count: Int, timeout: Duration? = nil
    ) async throws -> [UInt16] {
        guard !table.holdsBits else {
            throw ModbusError(.invalidArgument, bus: description, unit: unit, detail: "\(table.rawValue) holds bits, not registers")
        }
        return try await registers(ModbusRequest(unit: unit, .read(table, address: address, count: count), timeout: timeout))
    }

    /// Reads `count` bits from a bit table (coil or discrete input).
    public func readBits(
        _ table: ModbusTable, unit: UInt8, address: UInt16, count: Int, timeout: Duration? = nil
    ) async throws -> [Bool] {
        guard table.holdsBits else {
            throw ModbusError(.invalidArgument, bus: description, unit: unit, detail: "\(table.rawValue) holds registers, not bits")
        }
        return try await bits(ModbusRequest(unit: unit, .read(table, address: address, count: count), timeout: timeout))
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

/// The protocol's limits on one request (Modbus Application Protocol v1.1b3, section 6).
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
