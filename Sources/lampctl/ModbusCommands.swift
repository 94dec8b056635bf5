import ArgumentParser
import FoundationEssentials
import Glibc
import Lighting
import Hardware
import SystemSupport
import TextFormatting
import Telemetry

/// `lampctl modbus …`: direct probes of Modbus devices.
struct ModbusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modbus",
        abstract: "Read, write and scan Modbus devices over TCP or RTU.",
        discussion: """
            Addresses are the 0-based addresses on the wire: register "40001" \
            in a vendor's table is --table holding --address 0. See docs/modbus.md.
            """,
        subcommands: [ModbusReadCommand.self, ModbusWriteCommand.self, ModbusScanCommand.self]
    )
}

/// Options naming a table, an address and how values are typed.
struct ModbusValueOptions: ParsableArguments {
    @Option(name: .long, help: "holding, input, coil or discrete (default holding).")
    var table: String?

    @Option(name: .long, help: "First address, 0-65535 (0-based, as on the wire).")
    var address: String?

    @Option(name: .long, help: "Value type: u16, i16, u32, i32, f32, u64, f64 (default: raw registers).")
    var type: String?

    @Option(name: .long, help: "Word order: ABCD (big-endian, default), CDAB, BADC or DCBA.")
    var order: String?

    @Option(name: .long, help: "Scale of a fixed-point value: value = raw x scale (e.g. 0.1).")
    var scale: String?

    func parsedTable() throws(UsageError) -> ModbusTable { try Self.table(from: table) }
    func parsedAddress() throws(UsageError) -> UInt16 { try Self.address(from: address) }

    static func table(from table: String?) throws(UsageError) -> ModbusTable {
        guard let table else { return .holdingRegister }
        guard let value = ModbusTable(name: table) else {
            throw UsageError(message: "--table must be holding, input, coil or discrete, not '\(table)'.")
        }
        return value
    }

    static func address(from address: String?) throws(UsageError) -> UInt16 {
        guard let address else { throw UsageError(message: "Say which address: --address N (0-65535).") }
        let value = address.lowercased().hasPrefix("0x") ? UInt16(address.dropFirst(2), radix: 16) : UInt16(address)
        guard let value else { throw UsageError(message: "--address must be 0-65535, not '\(address)'.") }
        return value
    }

    /// The value format, or nil for raw registers/bits.
    func parsedFormat(table: ModbusTable) throws(UsageError) -> ModbusValueFormat? {
        if table.holdsBits {
            if type != nil || order != nil || scale != nil {
                throw UsageError(message: "--type, --order and --scale apply to holding and input registers, not \(table.rawValue)s.")
            }
            return nil
        }
        guard type != nil || order != nil || scale != nil else { return nil }
        let dataType: ModbusDataType
        if let type {
            guard let value = ModbusDataType(name: type) else {
                throw UsageError(message: "--type must be one of u16, i16, u32, i32, f32, u64, f64, not '\(type)'.")
            }
            dataType = value
        } else {
            dataType = .u16
        }
        var format = ModbusValueFormat(dataType)
        if let order {
            guard let value = ModbusWordOrder(name: order) else {
                throw UsageError(message: "--order must be ABCD, CDAB, BADC or DCBA, not '\(order)'.")
            }
            format.order = value
        }
        if let scale {
            guard let value = Double(scale), value.isFinite, value != 0 else {
                throw UsageError(message: "--scale must be a non-zero number such as 0.1, not '\(scale)'.")
            }
            format.scale = value
        }
        return format
    }
}

// MARK: read

/// `lampctl modbus read`: reads registers or bits and decodes typed values.
struct ModbusReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read registers or bits from one unit and decode them.",
        discussion: """
            Examples:
              lampctl modbus read --tcp 192.0.2.10:502 --unit 1 --table holding --address 100 --type f32
              lampctl modbus read --rtu /dev/ttyS1 --baud 19200 --parity none --unit 3 \\
                  --table input --address 0 --count 2 --type u16 --scale 0.1
            """
    )

    @OptionGroup var bus: ModbusBusOptions
    @OptionGroup var what: ModbusValueOptions
    @Option(name: .long, help: "How many values (with --type) or registers/bits to read (default 1).")
    var count: String?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(output)
        let configuration: ModbusBusConfiguration
        let unit: UInt8, table: ModbusTable, address: UInt16, format: ModbusValueFormat?, items: Int
        do throws(UsageError) {
            configuration = try bus.configuration()
            unit = try bus.unitID()
            table = try what.parsedTable()
            address = try what.parsedAddress()
            format = try what.parsedFormat(table: table)
            guard let parsed = Int(count ?? "1"), parsed >= 1 else {
                throw UsageError(message: "--count must be a positive number, not '\(count ?? "")'.")
            }
            items = parsed * (format?.registerCount ?? 1)
            guard items <= table.maxReadCount else {
                throw UsageError(message: "At most \(table.maxReadCount) \(table.holdsBits ? "bits" : "registers") per read; asked for \(items).")
            }
            guard Int(address) + items <= 65536 else {
                throw UsageError(message: "--address \(address) with \(items) items goes past 65535.")
            }
        } catch {
            throw console.usage(error.message)
        }

        let modbus = try await ModbusSession.open(configuration, console: console)
        do {
            if table.holdsBits {
                let bits = try await modbus.readBits(table, unit: unit, address: address, count: items)
                console.emit(BitsReport(bus: modbus.description, unit: unit, table: table.rawValue, address: address, bits: bits))
                console.line("Unit \(unit) on \(modbus.description), \(table.rawValue) \(Self.range(address, items)):")
                for (offset, bit) in bits.enumerated() {
                    console.line("  \(Self.pad(Int(address) + offset))  \(bit ? "on " : "off") (\(bit ? 1 : 0))")
                }
            } else {
                let registers = try await modbus.readRegisters(table, unit: unit, address: address, count: items)
                var values: [ValueReport] = []
                if let format {
                    do {
                        let decoded = try format.decodeAll(registers)
                        for (index, value) in decoded.enumerated() {
                            let number = value.doubleValue * (format.scale ?? 1)
                            let text = format.scale == nil ? value.text : Self.scaled(number)
                            values.append(ValueReport(address: address + UInt16(index * format.registerCount),
                                                      raw: value.text, value: JSONNumber(value: number), text: text))
                        }
                    } catch {
                        throw ModbusError(.invalidResponse, bus: modbus.description, unit: unit, detail: error.message)
                    }
                }
                console.emit(RegistersReport(
                    bus: modbus.description, unit: unit, table: table.rawValue, address: address, registers: registers,
                    type: format?.type.rawValue, order: format?.order.rawValue, scale: format?.scale,
                    values: format == nil ? nil : values))
                console.line("Unit \(unit) on \(modbus.description), \(table.rawValue) \(items == 1 ? "register" : "registers") \(Self.range(address, items)):")
                for (offset, register) in registers.enumerated() {
                    console.line("  \(Self.pad(Int(address) + offset))  0x\(Self.hex(register))  \(register)")
                }
                if let format {
                    let scaleText = format.scale.map { " x\(Self.scaled($0))" } ?? ""
                    for value in values {
                        console.line("\(format.type.rawValue) \(format.order.rawValue)\(scaleText) @\(value.address): \(value.text)")
                    }
                }
            }
        } catch {
            throw console.fail(error)
        }
    }

    static func range(_ address: UInt16, _ count: Int) -> String {
        count == 1 ? "\(address)" : "\(address)-\(Int(address) + count - 1)"
    }
    static func pad(_ address: Int) -> String {
        let text = String(address)
        return String(repeating: " ", count: max(0, 5 - text.count)) + text
    }
    static func hex(_ value: UInt16) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - text.count) + text
    }
    /// A scaled value without binary noise (230.50000000000003 → 230.5).
    static func scaled(_ value: Double) -> String {
        guard value.isFinite else { return value.description }
        let rounded = (value * 1e9).rounded() / 1e9
        return rounded.description
    }

    struct BitsReport: Encodable {
        var bus: String, unit: UInt8, table: String, address: UInt16, bits: [Bool]
    }
    struct ValueReport: Encodable {
        var address: UInt16
        /// The raw integer or float before scaling, exactly as text.
        var raw: String
        /// The physical value (raw × scale) as a JSON number ("nan"/"inf" as strings).
        var value: JSONNumber
        var text: String
    }
    struct RegistersReport: Encodable {
        var bus: String, unit: UInt8, table: String, address: UInt16, registers: [UInt16]
        var type: String?, order: String?, scale: Double?
        var values: [ValueReport]?
    }
}

// MARK: write

/// `lampctl modbus write`: writes coils or holding registers, typed.
struct ModbusWriteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write coils or holding registers of one unit.",
        discussion: """
            One --value per item; several --value write consecutive items in one request.
            Examples:
              lampctl modbus write --tcp 192.0.2.10:502 --unit 1 --address 20 --type f32 --order CDAB --value 12.5
              lampctl modbus write --rtu /dev/ttyS1 --unit 2 --table coil --address 4 --value on
            """
    )

    @OptionGroup var bus: ModbusBusOptions
    @OptionGroup var what: ModbusValueOptions
    @Option(name: .long, parsing: .unconditionalSingleValue,
            help: "Value to write: a number (0x.. for hex), or on/off/1/0/true/false for coils. Repeat for consecutive items.")
    var value: [String] = []
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(output)
        let configuration: ModbusBusConfiguration
        let unit: UInt8, table: ModbusTable, address: UInt16
        var registers: [UInt16] = []
        var bits: [Bool] = []
        do throws(UsageError) {
            configuration = try bus.configuration()
            unit = try bus.unitID()
            table = try what.parsedTable()
            address = try what.parsedAddress()
            guard table.isWritable else {
                throw UsageError(message: "Only coil and holding tables can be written, not \(table.rawValue).")
            }
            guard !value.isEmpty else { throw UsageError(message: "Say what to write: --value V (repeat for several).") }
            if table.holdsBits {
                _ = try what.parsedFormat(table: table)
                for text in value {
                    switch text.lowercased() {
                    case "on", "1", "true": bits.append(true)
                    case "off", "0", "false": bits.append(false)
                    default: throw UsageError(message: "A coil is on or off (1/0, true/false), not '\(text)'.")
                    }
                }
                guard bits.count <= 1968 else { throw UsageError(message: "At most 1968 coils per write.") }
            } else {
                let format = try what.parsedFormat(table: table) ?? ModbusValueFormat(.u16)
                for text in value {
                    do {
                        registers += try format.encode(text: text)
                    } catch {
                        throw UsageError(message: "Cannot write '\(text)' as \(format.type.rawValue): \(error.message).")
                    }
                }
                guard registers.count <= 123 else { throw UsageError(message: "At most 123 registers per write.") }
            }
            let items = max(bits.count, registers.count)
            guard Int(address) + items <= 65536 else {
                throw UsageError(message: "--address \(address) with \(items) items goes past 65535.")
            }
        } catch {
            throw console.usage(error.message)
        }

        let modbus = try await ModbusSession.open(configuration, console: console)
        do {
            switch (table, bits.count, registers.count) {
            case (.coil, 1, _): try await modbus.writeCoil(unit: unit, address: address, value: bits[0])
            case (.coil, _, _): try await modbus.writeCoils(unit: unit, address: address, values: bits)
            case (_, _, 1): try await modbus.writeRegister(unit: unit, address: address, value: registers[0])
            default: try await modbus.writeRegisters(unit: unit, address: address, values: registers)
            }
        } catch {
            throw console.fail(error)
        }
        let items = table.holdsBits ? bits.count : registers.count
        console.emit(Report(bus: modbus.description, unit: unit, table: table.rawValue, address: address,
                            registers: table.holdsBits ? nil : registers, bits: table.holdsBits ? bits : nil))
        let noun = table.holdsBits ? (items == 1 ? "coil" : "coils") : (items == 1 ? "register" : "registers")
        console.line("Wrote \(items) \(noun) at \(ModbusReadCommand.range(address, items)) of unit \(unit) on \(modbus.description).")
        if !table.holdsBits {
            console.line("  " + registers.map { "0x" + ModbusReadCommand.hex($0) }.joined(separator: " "))
        }
    }

    struct Report: Encodable {
        var bus: String, unit: UInt8, table: String, address: UInt16
        var registers: [UInt16]?, bits: [Bool]?
        var written = true
    }
}

// MARK: scan

/// `lampctl modbus scan`: which unit ids answer on this bus.
struct ModbusScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "List the unit ids that answer on a bus.",
        discussion: """
            Asks each unit for one register (holding 0 unless --table/--address say \
            otherwise). A unit that answers with a Modbus exception is present too. \
            Each silent unit costs one --timeout (default 100ms here): 247 units \
            take about 25 s. Exit code 1 when no unit answers.
            Example:
              lampctl modbus scan --rtu /dev/ttyS1 --baud 19200 --units 1-10
            """
    )

    @OptionGroup var bus: ModbusBusOptions
    @Option(name: .long, help: "Unit ids to try: 1-247, or a list such as 1-5,10 (default 1-247).")
    var units: String?
    @Option(name: .long, help: "Table to probe: holding, input, coil or discrete (default holding).")
    var table: String?
    @Option(name: .long, help: "Address to probe (default 0).")
    var address: String?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(output)
        let configuration: ModbusBusConfiguration
        let ids: [UInt8], probeTable: ModbusTable, probeAddress: UInt16
        do throws(UsageError) {
            configuration = try bus.configuration(defaultTimeout: .milliseconds(100))
            if bus.unit != nil { throw UsageError(message: "scan takes --units (a range), not --unit.") }
            ids = try Self.parseUnits(units ?? "1-247")
            probeTable = try ModbusValueOptions.table(from: table)
            probeAddress = try ModbusValueOptions.address(from: address ?? "0")
        } catch {
            throw console.usage(error.message)
        }

        let modbus = try await ModbusSession.open(configuration, console: console)
        let progress = !output.json && isatty(STDERR_FILENO) == 1
        var found: [Found] = []
        for (index, unit) in ids.enumerated() {
            if progress {
                let text = "\rscanning unit \(unit) (\(index + 1)/\(ids.count)), \(found.count) found…"
                StandardStream.error.write(text)
            }
            do {
                if probeTable.holdsBits {
                    _ = try await modbus.readBits(probeTable, unit: unit, address: probeAddress, count: 1)
                } else {
                    _ = try await modbus.readRegisters(probeTable, unit: unit, address: probeAddress, count: 1)
                }
                found.append(Found(unit: unit, answer: "ok"))
            } catch let error as ModbusError {
                switch error.kind {
                case .timeout, .badCRC, .invalidResponse:
                    continue  // silent, or garbled: not a unit we can talk to
                case .exception(let exception):
                    found.append(Found(unit: unit, answer: exception.name))
                default:
                    if progress { StandardStream.error.write("\r\u{1B}[K") }
                    throw console.fail(error)
                }
            } catch {
                throw console.fail(error)
            }
        }
        if progress { StandardStream.error.write("\r\u{1B}[K") }

        console.emit(Report(bus: modbus.description, tried: ids.count, units: found))
        for unit in found {
            let detail = unit.answer == "ok" ? "answers" : "answers with exception \(unit.answer)"
            console.line("unit \(String(unit.unit).leftPadded(3))  \(detail)")
        }
        let list = found.map { String($0.unit) }.joined(separator: ", ")
        console.line("\(found.count) of \(ids.count) units answer on \(modbus.description)\(found.isEmpty ? "" : ": \(list)").")
        if found.isEmpty { throw LampctlExit.checkFailed }
    }

    /// Parses `1-247`, `1,2,5`, `1-3,10` into sorted unique unit ids.
    static func parseUnits(_ text: String) throws(UsageError) -> [UInt8] {
        var ids = Set<UInt8>()
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count),
                  let low = UInt8(bounds[0].trimmingWhitespace()),
                  let high = UInt8((bounds.last ?? "").trimmingWhitespace()),
                  low >= 1, high <= 247, low <= high
            else {
                throw UsageError(message: "--units must be ids 1-247 such as 1-247 or 1-5,10, not '\(text)'.")
            }
            ids.formUnion(low...high)
        }
        guard !ids.isEmpty else { throw UsageError(message: "--units names no unit.") }
        return ids.sorted()
    }

    struct Found: Encodable {
        var unit: UInt8
        /// "ok", or the name of the exception the unit answered with.
        var answer: String
    }
    struct Report: Encodable {
        var bus: String, tried: Int, units: [Found]
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: " ", count: max(0, width - count)) + self
    }
}
