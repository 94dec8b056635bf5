/// Serial parity of an RTU line. The Modbus over serial line specification
/// (v1.02, 2.5.1) makes even parity the default; many meters ship with none.
public enum ModbusParity: String, Sendable, CaseIterable, Codable {
    case none, even, odd

    /// Parses `none|even|odd` and the one-letter forms `N|E|O` (case-insensitive).
    public init?(name: String) {
        switch name.lowercased() {
        case "none", "n": self = .none
        case "even", "e": self = .even
        case "odd", "o": self = .odd
        default: return nil
        }
    }

    /// The letter libmodbus expects.
    var letter: CChar {
        switch self {
        case .none: CChar(UInt8(ascii: "N"))
        case .even: CChar(UInt8(ascii: "E"))
        case .odd: CChar(UInt8(ascii: "O"))
        }
    }
}

/// Whether the serial port is switched to kernel RS-485 mode (the driver
/// drives the transceiver's direction pin).
///
/// A USB adapter that switches direction itself, or a pty in tests, cannot be
/// switched (the kernel answers "inappropriate ioctl"): `required` then fails
/// with `ModbusError` kind `.rs485Unsupported`; `ifSupported` continues in
/// plain RS-232 mode and reports a warning through `ModbusBus.warnings`.
public enum RS485Mode: String, Sendable, CaseIterable, Codable {
    /// Leave the port as it is (RS-232, or an adapter with automatic direction).
    case off
    /// Switch to RS-485 mode or fail.
    case required
    /// Switch to RS-485 mode when the port supports it, else warn and continue.
    case ifSupported = "if-supported"

    /// Parses `off|required|if-supported` (also `if_supported`, `ifsupported`).
    public init?(name: String) {
        switch name.lowercased() {
        case "off", "no": self = .off
        case "required", "on": self = .required
        case "if-supported", "if_supported", "ifsupported", "auto": self = .ifSupported
        default: return nil
        }
    }
}

/// Settings of a Modbus RTU serial line.
public struct ModbusRTUSettings: Sendable, Equatable, Codable {
    /// The serial device, e.g. `/dev/ttyS1` or `/dev/ttyUSB0`.
    public var device: String
    /// Bits per second: 1200…115200 (9600 and 19200 are the usual ones).
    public var baudRate: Int
    public var parity: ModbusParity
    /// 7 or 8 (Modbus RTU uses 8).
    public var dataBits: Int
    /// 1 or 2 (the spec asks for 2 with parity none; most devices accept 1).
    public var stopBits: Int
    public var rs485: RS485Mode

    public init(
        device: String, baudRate: Int = 9600, parity: ModbusParity = .even,
        dataBits: Int = 8, stopBits: Int = 1, rs485: RS485Mode = .off
    ) {
        self.device = device
        self.baudRate = baudRate
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.rs485 = rs485
    }
}

/// Where a Modbus bus is: a serial RTU line or a Modbus TCP peer.
public enum ModbusTransport: Sendable, Equatable {
    case rtu(ModbusRTUSettings)
    /// A Modbus TCP device or gateway; `host` is a name or an IP address.
    case tcp(host: String, port: Int)

    /// `/dev/ttyS1` or `192.0.2.10:502`.
    public var description: String {
        switch self {
        case .rtu(let settings): settings.device
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}

/// A bus and its default response timeout.
public struct ModbusBusConfiguration: Sendable, Equatable {
    public var transport: ModbusTransport
    /// How long to wait for an answer when a request names no timeout.
    /// A unit that never answers costs this much per request.
    public var timeout: Duration

    public init(_ transport: ModbusTransport, timeout: Duration = .milliseconds(500)) {
        self.transport = transport
        self.timeout = timeout
    }
}

/// Something worth logging about a bus that still works.
public struct ModbusBusWarning: Sendable, Equatable, CustomStringConvertible {
    /// Stable identifier, e.g. `modbus.rs485-unsupported`.
    public var code: String
    public var description: String
}
