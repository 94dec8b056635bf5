import Hardware
import Sampling
import Telemetry
import Clocks

/// One Modbus bus from `[[modbus.buses]]`: a name and the Hardware layer's
/// bus settings (an RTU serial line or a TCP connection).
public struct ModbusBusSection: Sendable {
    public var name: String
    public var bus: ModbusBusConfiguration

    static func read(_ table: TOMLReader) -> ModbusBusSection? {
        let name = table.string("name", required: true)
        let rtuDevice = table.string("rtu")
        let tcpAddress = table.string("tcp")
        let baud = table.int("baud", in: 300...4_000_000) ?? 9600
        let parity = table.named("parity", parse: ModbusParity.init(name:), allowed: "\"none\", \"even\", \"odd\"") ?? .even
        let dataBits = table.int("data_bits", in: 5...8) ?? 8
        let stopBits = table.int("stop_bits", in: 1...2) ?? (parity == .none ? 2 : 1)
        let rs485 = table.named("rs485", parse: RS485Mode.init(name:), allowed: "\"off\", \"required\", \"if-supported\"") ?? .ifSupported
        let timeout = table.duration("timeout", in: .milliseconds(20)...(.seconds(30))) ?? .milliseconds(500)
        table.rejectUnknownKeys()

        let transport: ModbusTransport
        switch (rtuDevice, tcpAddress) {
        case let (device?, nil):
            transport = .rtu(ModbusRTUSettings(device: device, baudRate: baud, parity: parity, dataBits: dataBits, stopBits: stopBits, rs485: rs485))
        case let (nil, address?):
            guard let endpoint = TCPEndpoint(address, defaultPort: 502) else {
                table.report("tcp", "\"\(address)\" is not HOST or HOST:PORT (port 1 to 65535)")
                return nil
            }
            transport = .tcp(host: endpoint.host, port: endpoint.port)
        case (.some, .some):
            table.report("tcp", "a bus is either `rtu = \"/dev/ttyX\"` or `tcp = \"host:port\"`, not both")
            return nil
        case (nil, nil):
            table.report("rtu", "missing; write `rtu = \"/dev/ttyS1\"` for a serial bus or `tcp = \"host:502\"` for Modbus TCP")
            return nil
        }
        guard let name else { return nil }
        return ModbusBusSection(name: name, bus: ModbusBusConfiguration(transport, timeout: timeout))
    }

    static func checkUnique(_ buses: [ModbusBusSection], in table: TOMLReader) {
        var names: Set<String> = []
        for (index, bus) in buses.enumerated() where !names.insert(bus.name).inserted {
            table.diagnostics.report("modbus.buses[\(index)].name", "bus name \"\(bus.name)\" is used twice")
        }
    }
}

/// `host:port` with a default port; IPv6 as `[::1]:502`.
struct TCPEndpoint: Hashable {
    var host: String
    var port: Int

    init?(_ text: String, defaultPort: Int) {
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if rest.hasPrefix(":") { portText = rest.dropFirst() } else if !rest.isEmpty { return nil }
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        let port = portText.map { Int($0) } ?? defaultPort
        guard let port, (1...65_535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
    }
}

/// One register (or coil) read from a device and turned into a channel.
public struct ModbusRegisterConfiguration: Sendable, Equatable {
    /// Channel name as sent upstream: `<device>.<name>`, e.g. `meter.voltage`.
    public var channel: String
    public var table: ModbusTable
    /// 0-based protocol address.
    public var address: UInt16
    /// Value type, word order and scale (ignored for coils and discrete inputs).
    public var format: ModbusValueFormat
    /// SenML unit, e.g. `V`, `A`, `W`, `kWh`.
    public var unit: String
    public var reporting: ChannelReporter.Mode
    /// `bit = N`: the reading is bit N (0 = least significant) of the register, 1 or 0.
    public var bit: Int? = nil
}

/// One Modbus device from `[[modbus.devices]]`.
public struct ModbusDeviceConfiguration: Sendable {
    public var name: String
    public var bus: String
    public var unit: UInt8
    public var pollInterval: Duration
    public var registers: [ModbusRegisterConfiguration]
    /// How the poller coalesces the registers into block reads.
    public var blocks: ModbusBlockLimits = .standard

    static func read(_ table: TOMLReader, buses: [ModbusBusSection]) -> ModbusDeviceConfiguration? {
        let name = table.string("name", required: true)
        if let name, !DeviceIdentifier.isValid(name) {
            table.report("name", "\"\(name)\" is not a valid name; use letters, digits, '-', '_' or '.'")
        }
        let bus = table.string("bus", required: true)
        if let bus, !buses.contains(where: { $0.name == bus }) {
            let known = buses.map { "\"\($0.name)\"" }.joined(separator: ", ")
            table.report("bus", "no [[modbus.buses]] is named \"\(bus)\"" + (known.isEmpty ? "" : "; known buses: \(known)"))
        }
        let unit = table.int("unit", in: 0...255, required: true)
        let poll = table.duration("poll", in: .milliseconds(100)...(.seconds(86_400))) ?? .seconds(10)
        var registers: [ModbusRegisterConfiguration] = []
        var blocks = ModbusBlockLimits.standard
        if let profileName = table.string("profile") {
            if let profile = DeviceProfiles.modbus[profileName] {
                registers = profile.registers
                blocks = profile.blocks
            } else {
                let known = DeviceProfiles.modbus.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
                table.report("profile", "unknown device profile \"\(profileName)\"; shipped profiles: \(known)")
            }
        }
        let explicit = table.tables("registers").compactMap(readRegister)
        // An explicit register with a profile's channel name replaces the profile's.
        registers = registers.filter { profiled in !explicit.contains { $0.channel == profiled.channel } } + explicit
        if registers.isEmpty {
            table.report("registers", "the device reads nothing; add `profile = \"eastron-sdm120\"` or [[modbus.devices.registers]] sections")
        }
        blocks.maxRegisters = table.int("max_block_registers", in: ModbusBlockLimits.registerRange) ?? blocks.maxRegisters
        blocks.maxBits = table.int("max_block_bits", in: ModbusBlockLimits.bitRange) ?? blocks.maxBits
        blocks.maxGap = table.int("max_read_gap", in: ModbusBlockLimits.gapRange) ?? blocks.maxGap
        table.rejectUnknownKeys()
        guard let name, let bus, let unit else { return nil }
        let prefixed = registers.map { register in
            var register = register
            register.channel = "\(name).\(register.channel)"
            return register
        }
        return ModbusDeviceConfiguration(name: name, bus: bus, unit: UInt8(unit), pollInterval: poll, registers: prefixed, blocks: blocks)
    }

    static func readRegister(_ table: TOMLReader) -> ModbusRegisterConfiguration? {
        let channel = table.string("channel", required: true)
        if let channel, !DeviceIdentifier.isValid(channel) {
            table.report("channel", "\"\(channel)\" is not a valid channel name; use letters, digits, '-', '_' or '.'")
        }
        let kind = table.named("table", parse: ModbusTable.init(name:), allowed: "\"holding\", \"input\", \"coil\", \"discrete\"", required: true)
        let address = table.int("address", in: 0...65_535, required: true)
        let valueType = table.named("type", parse: ModbusDataType.init(name:), allowed: ModbusDataType.allCases.map(\.rawValue).joined(separator: ", ")) ?? .u16
        let order = table.named("order", parse: ModbusWordOrder.init(name:), allowed: "ABCD (big-endian, the Modbus default), CDAB, BADC or DCBA") ?? .abcd
        let scale = table.double("scale") ?? 1
        if scale == 0 || !scale.isFinite { table.report("scale", "must be a non-zero number") }
        let unit = table.string("unit") ?? ""
        let reporting = readReporting(table)
        let bit = table.int("bit", in: 0...15)
        if bit != nil, kind?.holdsBits == true {
            table.report("bit", "a \(kind?.rawValue ?? "") already is one bit; `bit` picks a bit of a holding or input register")
        }
        table.rejectUnknownKeys()
        guard let channel, let kind, let address, let reporting else { return nil }
        return ModbusRegisterConfiguration(
            channel: channel, table: kind, address: UInt16(address),
            format: ModbusValueFormat(valueType, order: order, scale: scale == 1 ? nil : scale),
            unit: unit, reporting: reporting, bit: kind.holdsBits ? nil : bit)
    }

    enum ReportName: String, CaseIterable { case everyPoll = "every-poll", onChange = "on-change", aggregate }

    static func readReporting(_ table: TOMLReader) -> ChannelReporter.Mode? {
        let name: ReportName = table.choice("report") ?? .everyPoll
        let deadband = table.double("deadband", in: 0...1e12) ?? 0
        let heartbeat = table.duration("heartbeat", in: .seconds(1)...(.seconds(86_400))) ?? .seconds(900)
        let interval = table.duration("interval", in: .seconds(1)...(.seconds(86_400))) ?? .seconds(300)
        switch name {
        case .everyPoll: return .everyPoll
        case .onChange: return .onChange(deadband: deadband, heartbeatSeconds: heartbeat.seconds)
        case .aggregate: return .aggregate(intervalSeconds: interval.seconds)
        }
    }
}
