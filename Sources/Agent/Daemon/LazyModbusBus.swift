import Hardware

/// A live Modbus bus that opens its serial port or TCP connection on first
/// use and again after the port could not be opened, so a USB adapter that
/// is unplugged at start-up shows up as "device missing" events with the
/// reason, instead of stopping lampd.
public actor LazyModbusBus: ModbusClient {
    public nonisolated let description: String
    private let configuration: ModbusBusConfiguration
    private var bus: ModbusBus?
    private var opening: Task<ModbusBus, any Error>?
    private let onWarning: @Sendable (ModbusBusWarning) -> Void

    public init(_ configuration: ModbusBusConfiguration, onWarning: @escaping @Sendable (ModbusBusWarning) -> Void = { _ in }) {
        self.configuration = configuration
        self.description = configuration.transport.description
        self.onWarning = onWarning
    }

    private func open() async throws -> ModbusBus {
        if let bus { return bus }
        if let opening { return try await opening.value }
        let configuration = configuration
        let task = Task { try await ModbusBus.open(configuration) }
        opening = task
        defer { opening = nil }
        let opened = try await task.value
        for warning in opened.warnings { onWarning(warning) }
        bus = opened
        return opened
    }

    public func readCoils(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [Bool] {
        try await open().readCoils(unit: unit, address: address, count: count, timeout: timeout)
    }

    public func readDiscreteInputs(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [Bool] {
        try await open().readDiscreteInputs(unit: unit, address: address, count: count, timeout: timeout)
    }

    public func readHoldingRegisters(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [UInt16] {
        try await open().readHoldingRegisters(unit: unit, address: address, count: count, timeout: timeout)
    }

    public func readInputRegisters(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [UInt16] {
        try await open().readInputRegisters(unit: unit, address: address, count: count, timeout: timeout)
    }

    public func writeCoil(unit: UInt8, address: UInt16, value: Bool, timeout: Duration?) async throws {
        try await open().writeCoil(unit: unit, address: address, value: value, timeout: timeout)
    }

    public func writeCoils(unit: UInt8, address: UInt16, values: [Bool], timeout: Duration?) async throws {
        try await open().writeCoils(unit: unit, address: address, values: values, timeout: timeout)
    }

    public func writeRegister(unit: UInt8, address: UInt16, value: UInt16, timeout: Duration?) async throws {
        try await open().writeRegister(unit: unit, address: address, value: value, timeout: timeout)
    }

    public func writeRegisters(unit: UInt8, address: UInt16, values: [UInt16], timeout: Duration?) async throws {
        try await open().writeRegisters(unit: unit, address: address, values: values, timeout: timeout)
    }
}
