import Sampling

/// One Modbus bus from `[[modbus.buses]]`: an RTU serial line or a TCP connection.
public struct ModbusBusConfiguration: Sendable {
    /// How the bus is reached.
    public enum Transport: Sendable, Hashable {
        case rtu(device: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int, rs485: RS485)
        case tcp(host: String, port: Int)
    }

    /// Serial parity. Modbus RTU's default is even.
    public enum Parity: String, Sendable, CaseIterable { case none, even, odd }

    /// What to do about RS-485 mode on the serial port.
    public enum RS485: String, Sendable, CaseIterable {
        /// Leave the port as it is (RS-232, or a transceiver with automatic direction).
        case off
        /// Set RS-485 mode; refuse to start the bus if the port cannot.
        case required
        /// Set RS-485 mode where the port supports it, otherwise continue in RS-232 mode and warn.
        case ifSupported = "if-supported"
    }

    public var name: String
    public var transport: Transport
    /// How long one request waits for its answer.
    public var timeout: Duration

    static func read(_ table: TOMLReader) -> ModbusBusConfiguration? {
        let name = table.string("name", required: true)
        let rtuDevice = table.string("rtu")
        let tcpAddress = table.string("tcp")
        let baud = table.int("baud", in: 300...4_000_000) ?? 9600
        let parity: Parity = table.choice("parity") ?? .even
        let dataBits = table.int("data_bits", in: 5...8) ?? 8
        let stopBits = table.int("stop_bits", in: 1...2) ?? (parity == .none ? 2 : 1)
        let rs485: RS485 = table.choice("rs485") ?? .ifSupported
        let timeout = table.duration("timeout", in: .milliseconds(20)...(.seconds(30))) ?? .milliseconds(500)
        table.rejectUnknownKeys()

        let transport: Transport
        switch (rtuDevice, tcpAddress) {
        case let (device?, nil):
            transport = .rtu(device: device, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits, rs485: rs485)
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
        return ModbusBusConfiguration(name: name, transport: transport, timeout: timeout)
    }

    static func checkUnique(_ buses: [ModbusBusConfiguration], in table: TOMLReader) {
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
public struct ModbusRegisterConfiguration: Sendable, Hashable {
    /// Which of the four Modbus tables.
    public enum Table: String, Sendable, CaseIterable {
        case holding, input, coil, discrete
    }

    /// Channel name as sent upstream: `<device>.<name>`, e.g. `meter.voltage`.
    public var channel: String
    public var table: Table
    /// 0-based protocol address.
    public var address: UInt16
    /// Value type name: u16, i16, u32, i32, f32, u64, f64 (ignored for coils).
    public var valueType: String
    /// Word/byte order name: ABCD, CDAB, BADC, DCBA.
    public var wordOrder: String
    /// The decoded value is multiplied by this (e.g. 0.1 for tenths).
    public var scale: Double
    /// SenML unit, e.g. `V`, `A`, `W`, `kWh`.
    public var unit: String
    public var reporting: ChannelReporter.Mode

    static let valueTypes = ["u16", "i16", "u32", "i32", "f32", "u64", "f64"]
    static let wordOrders = ["ABCD", "CDAB", "BADC", "DCBA"]
}

/// One Modbus device from `[[modbus.devices]]`.
public struct ModbusDeviceConfiguration: Sendable {
    public var name: String
    public var bus: String
    public var unit: UInt8
    public var pollInterval: Duration
    public var registers: [ModbusRegisterConfiguration]

    static func read(_ table: TOMLReader, buses: [ModbusBusConfiguration]) -> ModbusDeviceConfiguration? {
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
        if let profileName = table.string("profile") {
            if let profile = DeviceProfiles.modbus[profileName] {
                registers = profile
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
        table.rejectUnknownKeys()
        guard let name, let bus, let unit else { return nil }
        let prefixed = registers.map { register in
            var register = register
            register.channel = "\(name).\(register.channel)"
            return register
        }
        return ModbusDeviceConfiguration(name: name, bus: bus, unit: UInt8(unit), pollInterval: poll, registers: prefixed)
    }

    static func readRegister(_ table: TOMLReader) -> ModbusRegisterConfiguration? {
        let channel = table.string("channel", required: true)
        if let channel, !DeviceIdentifier.isValid(channel) {
            table.report("channel", "\"\(channel)\" is not a valid channel name; use letters, digits, '-', '_' or '.'")
        }
        let kind: ModbusRegisterConfiguration.Table? = table.choice("table", required: true)
        let address = table.int("address", in: 0...65_535, required: true)
        let valueType = table.string("type") ?? "u16"
        if !ModbusRegisterConfiguration.valueTypes.contains(valueType) {
            table.report("type", "\"\(valueType)\" is not a value type; use one of \(ModbusRegisterConfiguration.valueTypes.joined(separator: ", "))")
        }
        let order = table.string("order") ?? "ABCD"
        if !ModbusRegisterConfiguration.wordOrders.contains(order) {
            table.report("order", "\"\(order)\" is not a word order; use ABCD (big-endian, the Modbus default), CDAB, BADC or DCBA")
        }
        let scale = table.double("scale") ?? 1
        if scale == 0 || !scale.isFinite { table.report("scale", "must be a non-zero number") }
        let unit = table.string("unit") ?? ""
        let reporting = readReporting(table)
        table.rejectUnknownKeys()
        guard let channel, let kind, let address, let reporting else { return nil }
        return ModbusRegisterConfiguration(
            channel: channel, table: kind, address: UInt16(address), valueType: valueType,
            wordOrder: order, scale: scale, unit: unit, reporting: reporting)
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

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
