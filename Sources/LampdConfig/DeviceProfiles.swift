import Hardware
import Sampling

/// Register maps of devices found in street-lamp poles and traffic-light
/// cabinets, so an installer writes `profile = "eastron-sdm120"` instead of
/// copying a vendor's table.
public enum DeviceProfiles {
    /// Modbus device profiles by name.
    public static let modbus: [String: ModbusDeviceProfile] = [
        // Eastron SDM120-Modbus / SDM230-Modbus single-phase meters: input
        // registers, IEEE-754 float32, big-endian word order (Eastron's
        // "Modbus protocol" document, input register table, 3X addresses
        // 30001 = address 0).
        // Block reads over the holes of the map answer normally on these meters
        // (the pymodbus peer laid out like an SDM120 does the same): standard limits.
        "eastron-sdm120": ModbusDeviceProfile(registers: eastronSinglePhase),
        "eastron-sdm230": ModbusDeviceProfile(registers: eastronSinglePhase),
    ]

    private static let eastronSinglePhase: [ModbusRegisterConfiguration] = [
        register("voltage", 0x0000, "V", .onChange(deadband: 1, heartbeatSeconds: 900)),
        register("current", 0x0006, "A", .onChange(deadband: 0.01, heartbeatSeconds: 900)),
        register("power", 0x000C, "W", .onChange(deadband: 1, heartbeatSeconds: 900)),
        register("power-factor", 0x001E, "/", .onChange(deadband: 0.02, heartbeatSeconds: 900)),
        register("frequency", 0x0046, "Hz", .onChange(deadband: 0.1, heartbeatSeconds: 900)),
        register("energy", 0x0156, "kWh", .onChange(deadband: 0.01, heartbeatSeconds: 900)),
    ]

    private static func register(_ channel: String, _ address: UInt16, _ unit: String, _ reporting: ChannelReporter.Mode) -> ModbusRegisterConfiguration {
        ModbusRegisterConfiguration(
            channel: channel, table: .inputRegister, address: address,
            format: ModbusValueFormat(.f32, order: .abcd), unit: unit, reporting: reporting)
    }
}


/// A shipped register map and the block-read limits the device is known to accept.
public struct ModbusDeviceProfile: Sendable {
    public var registers: [ModbusRegisterConfiguration]
    /// A meter that refuses a read touching an undefined register ships with `maxGap` 0;
    /// the device's own `max_read_gap` and `max_block_*` keys override these.
    public var blocks: ModbusBlockLimits = .standard
}
