import SystemSupport

/// A Modbus exception code sent back by a unit that understood the request
/// but refused it (Modbus Application Protocol v1.1b3, section 7).
public enum ModbusException: UInt8, Sendable, CaseIterable, Codable {
    case illegalFunction = 0x01
    case illegalDataAddress = 0x02
    case illegalDataValue = 0x03
    case serverDeviceFailure = 0x04
    case acknowledge = 0x05
    case serverDeviceBusy = 0x06
    case negativeAcknowledge = 0x07
    case memoryParityError = 0x08
    case gatewayPathUnavailable = 0x0A
    case gatewayTargetFailedToRespond = 0x0B

    /// Stable name used in error codes (`modbus.illegal-data-address`).
    public var name: String {
        switch self {
        case .illegalFunction: "illegal-function"
        case .illegalDataAddress: "illegal-data-address"
        case .illegalDataValue: "illegal-data-value"
        case .serverDeviceFailure: "server-device-failure"
        case .acknowledge: "acknowledge"
        case .serverDeviceBusy: "server-device-busy"
        case .negativeAcknowledge: "negative-acknowledge"
        case .memoryParityError: "memory-parity-error"
        case .gatewayPathUnavailable: "gateway-path-unavailable"
        case .gatewayTargetFailedToRespond: "gateway-target-failed-to-respond"
        }
    }

    /// What a technician should check when a unit answers with this exception.
    var advice: String {
        switch self {
        case .illegalFunction:
            "the device does not support this request — check the table (holding/input/coil/discrete) in its manual"
        case .illegalDataAddress:
            "the address or count is outside the device's register map — check the address (0-based) and count in its manual"
        case .illegalDataValue:
            "the device refused the value — check range and type in its manual"
        case .serverDeviceFailure:
            "the device failed internally — power-cycle it and check its own diagnostics"
        case .acknowledge:
            "the device accepted a long-running command — ask again later"
        case .serverDeviceBusy:
            "the device is busy — retry later"
        case .negativeAcknowledge:
            "the device cannot perform the program function — check its manual"
        case .memoryParityError:
            "the device's memory failed a parity check — the device needs service"
        case .gatewayPathUnavailable:
            "the gateway has no path to that unit — check the gateway's routing configuration"
        case .gatewayTargetFailedToRespond:
            "the gateway got no answer from that unit — check wiring, address and baud rate behind the gateway"
        }
    }
}

/// An error from a Modbus bus, with a stable `code` and a sentence a field
/// technician can act on (STYLE.md rule 7).
///
/// `kind` tells scripts and callers what happened; `bus`, `unit` and
/// `timeout` say where; `errno` keeps the underlying C error when there was
/// one (libmodbus reports everything through errno).
public struct ModbusError: HardwareError, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The unit sent no complete answer within the timeout: silent, too
        /// slow, or a frame shorter than it announced.
        case timeout
        /// The request was never sent: the bus was busy with other requests
        /// (to units that answer slowly or not at all) for the whole wait.
        case busBusy
        /// The unit answered with a Modbus exception.
        case exception(ModbusException)
        /// A frame arrived with a wrong CRC (noise, wrong baud rate or parity).
        case badCRC
        /// An answer arrived but does not fit the request: wrong unit,
        /// function, transaction id or length, or a value that does not decode.
        case invalidResponse
        /// The serial device does not exist.
        case deviceNotFound
        /// The serial device exists but this user may not open it.
        case permissionDenied
        /// The TCP peer refused the connection (nothing listens on that port).
        case connectionRefused
        /// The TCP peer cannot be reached (no route, host down).
        case unreachable
        /// An established TCP connection broke; the next request reconnects.
        case connectionLost
        /// RS-485 mode was required but the serial port cannot be switched to it.
        case rs485Unsupported
        /// A request or bus setting is out of range (count, address, baud…).
        case invalidArgument
        /// A value does not fit the requested Modbus type when encoding.
        case valueOutOfRange
        /// Any other operating-system error.
        case io
    }

    public var kind: Kind
    /// The bus, as `/dev/ttyS1` or `192.0.2.10:502`.
    public var bus: String
    /// The unit asked, when the error concerns one unit.
    public var unit: UInt8?
    /// The response timeout in force, for timeouts.
    public var timeout: Duration?
    /// The underlying errno value, when the C library reported one.
    public var errno: Int32?
    /// Extra detail (the invalid argument, the OS error text).
    public var detail: String?

    public init(
        _ kind: Kind, bus: String, unit: UInt8? = nil, timeout: Duration? = nil,
        errno: Int32? = nil, detail: String? = nil
    ) {
        self.kind = kind
        self.bus = bus
        self.unit = unit
        self.timeout = timeout
        self.errno = errno
        self.detail = detail
    }

    /// Stable, dotted identifier: `modbus.timeout`, `modbus.illegal-data-address`…
    public var code: String {
        switch kind {
        case .timeout: "modbus.timeout"
        case .busBusy: "modbus.bus-busy"
        case .exception(let exception): "modbus.\(exception.name)"
        case .badCRC: "modbus.bad-crc"
        case .invalidResponse: "modbus.invalid-response"
        case .deviceNotFound: "modbus.device-not-found"
        case .permissionDenied: "modbus.permission-denied"
        case .connectionRefused: "modbus.connection-refused"
        case .unreachable: "modbus.unreachable"
        case .connectionLost: "modbus.connection-lost"
        case .rs485Unsupported: "modbus.rs485-unsupported"
        case .invalidArgument: "modbus.invalid-argument"
        case .valueOutOfRange: "modbus.value-out-of-range"
        case .io: "modbus.io-error"
        }
    }

    /// What the unit did, in a few words for a summary line ("unit 1 on bus
    /// rs485 answered wrongly: …"), from a `code` such as `modbus.bad-crc`:
    /// a malformed answer or an exception is never reported as no answer.
    public static func verdict(code: String) -> String {
        switch code {
        case "modbus.timeout": "did not answer"
        case "modbus.bus-busy": "was not asked (bus busy)"
        case "modbus.bad-crc", "modbus.invalid-response": "answered wrongly"
        case "modbus.device-not-found", "modbus.permission-denied", "modbus.connection-refused",
             "modbus.unreachable", "modbus.connection-lost", "modbus.rs485-unsupported", "modbus.io-error":
            "could not be reached"
        case "modbus.invalid-argument", "modbus.value-out-of-range": "could not be asked"
        default: code.hasPrefix("modbus.") ? "answered with an exception" : "failed"
        }
    }

    public var description: String {
        let who = unit.map { "Modbus unit \($0) on \(bus)" } ?? "Modbus bus \(bus)"
        let extra = detail.map { " (\($0))" } ?? ""
        switch kind {
        case .timeout:
            let within = timeout.map { " within \(ModbusDuration.format($0))" } ?? ""
            return "\(who) did not answer\(within) (no complete answer) — check wiring, address and baud rate; a unit that answers slowly needs a longer timeout."
        case .busBusy:
            let waited = timeout.map { " for \(ModbusDuration.format($0))" } ?? ""
            return "The request to \(who) was not sent: the bus was busy with other requests\(waited) — another unit on \(bus) answers slowly or not at all; find it with `lampctl status`, fix or remove it."
        case .exception(let exception):
            return "\(who) answered with exception \(exception.rawValue) (\(exception.name)) — \(exception.advice)."
        case .badCRC:
            return "\(who) sent a frame with a bad CRC — check baud rate, parity, cable shielding and termination."
        case .invalidResponse:
            return "\(who) sent an answer that does not match the request\(extra) — it is alive but answers wrongly: check that no two units share this address, that the gateway routes to the right unit, and the device's register map."
        case .deviceNotFound:
            return "Serial device \(bus) does not exist — check the device path and that the USB/RS-485 adapter is plugged in."
        case .permissionDenied:
            return "No permission to open \(bus) — add the user to the 'dialout' group (then log in again) or run as lampd."
        case .connectionRefused:
            return "\(bus) refused the connection — check host, port and that the Modbus TCP device or gateway is up."
        case .unreachable:
            return "\(bus) cannot be reached\(extra) — check the network cable, IP address and route."
        case .connectionLost:
            return "The connection to \(bus) broke\(extra); the next request reconnects — check the device and network."
        case .rs485Unsupported:
            return "\(bus) cannot be switched to RS-485 mode\(extra) — it is not an RS-485 port; use --rs485 if-supported (or rs485 = \"if-supported\") for an adapter that handles direction itself."
        case .invalidArgument:
            return "Invalid Modbus request or bus setting for \(bus)\(extra)."
        case .valueOutOfRange:
            return "Value does not fit the Modbus type\(extra)."
        case .io:
            return "\(who): input/output error\(extra)."
        }
    }
}

/// Formats and parses durations the way technicians type them (`500ms`, `2s`).
public enum ModbusDuration {
    /// `500 ms`, `2 s`, `1500 ms`.
    public static func format(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        if ms >= 1000, ms % 1000 == 0 { return "\(ms / 1000) s" }
        return "\(ms) ms"
    }

    /// Whole milliseconds in `duration` (rounded down, never negative, saturating).
    public static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? 0 : Int64.max }
        let (total, overflowAdding) = whole.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflowAdding ? Int64.max : max(0, total)
    }

    /// Parses `500ms`, `2s`, `1.5s`, `250` (milliseconds). Nil when malformed or not positive.
    public static func parse(_ text: String) -> Duration? {
        let t = text.filter { $0 != " " }.lowercased()
        let (number, factor): (Substring, Double) =
            if t.hasSuffix("ms") { (t.dropLast(2), 1) }
            else if t.hasSuffix("s") { (t.dropLast(1), 1000) }
            else { (Substring(t), 1) }
        guard let value = Double(number), value.isFinite, value > 0 else {
            return nil
        }
        let ms = value * factor
        guard ms >= 1, ms <= 3_600_000 else { return nil }
        return .microseconds(Int64((ms * 1000).rounded()))
    }
}
