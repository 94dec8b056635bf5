/// A lamp driven through one Modbus holding register: a DALI or 0–10 V
/// gateway, or a driver with a Modbus interface.
///
/// The register gets `round(level × scale)`: scale 1 for a 0–100 register,
/// 2.54 for DALI arc power 0–254, 10 for a 0–1000 (tenths of a percent)
/// register. 0 % writes 0, which such gateways take as "off". Levels above 0
/// but below `minimumLevelPercent` are raised to it.
public struct ModbusRegisterLampOutput: LampOutput {
    public let client: any ModbusClient
    public let unit: UInt8
    /// Holding-register address, 0-based as on the wire.
    public let address: UInt16
    /// Register value per percent.
    public let scale: Double
    public let minimumLevelPercent: Double

    public init(client: any ModbusClient, unit: UInt8, address: UInt16, scale: Double = 1, minimumLevelPercent: Double = 0) {
        self.client = client
        self.unit = unit
        self.address = address
        self.scale = scale
        self.minimumLevelPercent = minimumLevelPercent
    }

    public var description: String { "Modbus \(client.description) unit \(unit) holding register \(address)" }

    /// The register value for `percent`, clamped to 0…65535.
    public func registerValue(percent: Double) throws -> UInt16 {
        let level = try LampLevel.effective(percent, minimumPercent: minimumLevelPercent, output: description)
        return UInt16(min(65_535, max(0, (level * scale).rounded())))
    }

    public func setLevel(percent: Double) async throws {
        try await client.writeRegister(unit: unit, address: address, value: try registerValue(percent: percent))
    }

    public func readBack() async throws -> LampOutputState {
        let value = try await client.readHoldingRegisters(unit: unit, address: address, count: 1)[0]
        let level = scale > 0 ? min(100, Double(value) / scale) : 0
        return LampOutputState(switchedOn: value > 0, levelPercent: (level * 10).rounded() / 10)
    }
}
