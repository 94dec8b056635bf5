import ArgumentParser
import FoundationEssentials
import Glibc
import Hardware
import SystemSupport
import Telemetry

/// Where the Modbus bus is and which unit to talk to: shared by every
/// `lampctl modbus` command.
///
/// Everything is parsed as text and checked in `run()`, so that a bad value
/// is a usage error with exit code 2 and a sentence, like other lampctl errors.
struct ModbusBusOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Modbus TCP device or gateway.", valueName: "host:port"))
    var tcp: String?

    @Option(name: .long, help: ArgumentHelp("Serial device of a Modbus RTU line, e.g. /dev/ttyS1.", valueName: "device"))
    var rtu: String?

    @Option(name: .long, help: "RTU: bits per second (default 9600).")
    var baud: String?

    @Option(name: .long, help: "RTU: none, even or odd (or N, E, O). Default even, the Modbus serial-line default.")
    var parity: String?

    @Option(name: .customLong("data-bits"), help: "RTU: data bits, 7 or 8 (default 8).")
    var dataBits: String?

    @Option(name: .customLong("stop-bits"), help: "RTU: stop bits, 1 or 2 (default 1).")
    var stopBits: String?

    @Option(name: .long, help: "RTU: RS-485 mode: off, required or if-supported (default off).")
    var rs485: String?

    @Option(name: .long, help: ArgumentHelp("How long to wait for each answer, e.g. 500ms or 2s.", valueName: "duration"))
    var timeout: String?

    @Option(name: .long, help: "Unit id (slave address) 1-247; 0 broadcast, 255 for TCP gateways. Default 1.")
    var unit: String?

    /// The bus configuration, or a usage message.
    func configuration(defaultTimeout: Duration = .milliseconds(500)) throws(UsageError) -> ModbusBusConfiguration {
        let timeout = try parsedTimeout(default: defaultTimeout)
        switch (tcp, rtu) {
        case (nil, nil):
            throw UsageError(message: "Say which bus: --tcp HOST:PORT or --rtu /dev/ttyX.")
        case (.some, .some):
            throw UsageError(message: "Give either --tcp or --rtu, not both.")
        case (let tcp?, nil):
            for (name, value) in [("--baud", baud), ("--parity", parity), ("--data-bits", dataBits),
                                  ("--stop-bits", stopBits), ("--rs485", rs485)] where value != nil {
                throw UsageError(message: "\(name) applies to --rtu only, not to --tcp.")
            }
            let (host, port) = try Self.hostAndPort(tcp)
            return ModbusBusConfiguration(.tcp(host: host, port: port), timeout: timeout)
        case (nil, let device?):
            var settings = ModbusRTUSettings(device: device)
            if let baud {
                guard let value = Int(baud), value > 0 else { throw UsageError(message: "--baud must be a number of bits per second, not '\(baud)'.") }
                settings.baudRate = value
            }
            if let parity {
                guard let value = ModbusParity(name: parity) else { throw UsageError(message: "--parity must be none, even or odd, not '\(parity)'.") }
                settings.parity = value
            }
            if let dataBits {
                guard let value = Int(dataBits), value == 7 || value == 8 else { throw UsageError(message: "--data-bits must be 7 or 8, not '\(dataBits)'.") }
                settings.dataBits = value
            }
            if let stopBits {
                guard let value = Int(stopBits), value == 1 || value == 2 else { throw UsageError(message: "--stop-bits must be 1 or 2, not '\(stopBits)'.") }
                settings.stopBits = value
            }
            if let rs485 {
                guard let value = RS485Mode(name: rs485) else { throw UsageError(message: "--rs485 must be off, required or if-supported, not '\(rs485)'.") }
                settings.rs485 = value
            }
            return ModbusBusConfiguration(.rtu(settings), timeout: timeout)
        }
    }

    /// The unit id (default 1).
    func unitID() throws(UsageError) -> UInt8 {
        guard let unit else { return 1 }
        guard let value = UInt8(unit), value <= 247 || value == 255 else {
            throw UsageError(message: "--unit must be 1-247 (0 broadcast, 255 TCP gateway), not '\(unit)'.")
        }
        return value
    }

    func parsedTimeout(default fallback: Duration) throws(UsageError) -> Duration {
        guard let timeout else { return fallback }
        guard let value = ModbusDuration.parse(timeout) else {
            throw UsageError(message: "--timeout must look like 500ms or 2s, not '\(timeout)'.")
        }
        return value
    }

    static func hostAndPort(_ text: String) throws(UsageError) -> (String, Int) {
        // [v6addr]:port, host:port
        var host: Substring
        var portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(after: close)...].drop(while: { $0 == ":" })
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = Substring(text)
            portText = "502"
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else {
            throw UsageError(message: "--tcp must be HOST:PORT (port 1-65535, default 502), not '\(text)'.")
        }
        return (String(host), port)
    }
}

/// Opens the bus for a command: maps a bad configuration to exit 2, a bus
/// that cannot be opened to exit 1, and prints RS-485 warnings.
enum ModbusSession {
    static func open(_ configuration: ModbusBusConfiguration, console: Console) async throws -> ModbusBus {
        do {
            let bus = try await ModbusBus.open(configuration)
            for warning in bus.warnings {
                StandardStream.error.write("lampctl: warning: \(warning.description)\n")
            }
            return bus
        } catch let error as ModbusError where error.kind == .invalidArgument {
            throw console.fail(error, exit: LampctlExit.usage)
        } catch {
            throw console.fail(error)
        }
    }
}

/// A number in JSON output; NaN and infinities (valid Modbus float values)
/// become the strings "nan", "inf", "-inf" because JSON has no such numbers.
struct JSONNumber: Encodable {
    var value: Double
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if value.isNaN { try container.encode("nan") }
        else if value.isInfinite { try container.encode(value > 0 ? "inf" : "-inf") }
        else { try container.encode(value) }
    }
}
