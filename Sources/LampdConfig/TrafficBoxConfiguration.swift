import Hardware
import Telemetry
import TOML

/// One contact of the traffic-light cabinet: its channel, the texts and the
/// events of its two states. The same whether the contact is wired to a GPIO
/// line (`[gpio.traffic_box]`) or to a Modbus module (`[modbus.traffic_box]`).
public struct TrafficBoxContact: Sendable, Hashable {
    /// Key in the configuration, e.g. `door`.
    public let key: String
    /// Channel name, e.g. `cabinet.door`.
    public let channel: String
    /// Line name on the simulated board, the default of `[gpio.traffic_box]`.
    public let defaultLine: String
    /// Input number on a `di-8`/`di-16` module, the default of `[modbus.traffic_box]`.
    public let defaultInput: Int
    /// Event text for the contact's `true` and `false` state.
    public let trueText: String
    public let falseText: String
    /// Event kind and severity for each state.
    public let trueEvent: GPIOInputConfiguration.EventSpec
    public let falseEvent: GPIOInputConfiguration.EventSpec

    /// The event for a debounced change to `value`: kind, severity and text.
    public func event(for value: Bool) -> (spec: GPIOInputConfiguration.EventSpec, text: String) {
        value ? (trueEvent, trueText) : (falseEvent, falseText)
    }
}

/// The traffic-light cabinet's standard contact set: five contacts with their
/// channel names, events and texts, one definition for every source.
///
/// ```toml
/// [gpio.traffic_box]
/// chip = "gpiochip0"
/// door = "GPIO17"           # line names (or offsets) of the contacts
/// flash_mode = "GPIO27"
/// controller_fault = "GPIO22"
/// mains_present = "GPIO23"
/// on_battery = "GPIO24"
/// active_low = true         # contacts pull the line low when closed
/// debounce = "50ms"
/// ```
public enum TrafficBoxProfile {
    public static let contacts: [TrafficBoxContact] = [
        TrafficBoxContact(
            key: "door", channel: "cabinet.door", defaultLine: "CABINET_DOOR", defaultInput: 0,
            trueText: "cabinet door opened", falseText: "cabinet door closed",
            trueEvent: .init(kind: "cabinet.door.opened", severity: .alarm),
            falseEvent: .init(kind: "cabinet.door.closed", severity: .info)),
        TrafficBoxContact(
            key: "flash_mode", channel: "cabinet.flash-mode", defaultLine: "FLASH_MODE", defaultInput: 1,
            trueText: "signals switched to flashing amber", falseText: "signals back to normal operation",
            trueEvent: .init(kind: "cabinet.flash-mode.on", severity: .alarm),
            falseEvent: .init(kind: "cabinet.flash-mode.off", severity: .info)),
        TrafficBoxContact(
            key: "controller_fault", channel: "cabinet.controller-fault", defaultLine: "CONTROLLER_FAULT", defaultInput: 2,
            trueText: "traffic controller reports a fault", falseText: "traffic controller fault cleared",
            trueEvent: .init(kind: "cabinet.controller-fault.raised", severity: .alarm),
            falseEvent: .init(kind: "cabinet.controller-fault.cleared", severity: .info)),
        TrafficBoxContact(
            key: "mains_present", channel: "cabinet.mains", defaultLine: "MAINS_PRESENT", defaultInput: 3,
            trueText: "mains power restored", falseText: "mains power lost",
            trueEvent: .init(kind: "cabinet.mains.restored", severity: .info),
            falseEvent: .init(kind: "cabinet.mains.lost", severity: .alarm)),
        TrafficBoxContact(
            key: "on_battery", channel: "cabinet.on-battery", defaultLine: "ON_BATTERY", defaultInput: 4,
            trueText: "cabinet running on battery", falseText: "cabinet back on mains supply",
            trueEvent: .init(kind: "cabinet.battery.in-use", severity: .warning),
            falseEvent: .init(kind: "cabinet.battery.idle", severity: .info)),
    ]

    /// `[gpio.traffic_box]`: the five contacts as GPIO inputs.
    static func read(_ table: TOMLReader) -> [GPIOInputConfiguration] {
        let chip = table.string("chip") ?? "gpiochip0"
        let activeLow = table.bool("active_low") ?? false
        let bias: GPIOInputConfiguration.Bias = table.choice("bias") ?? .asIs
        let debounce = table.duration("debounce", in: .zero...(.seconds(60))) ?? .milliseconds(50)
        let pollInterval = table.duration("poll_interval", in: GPIOInputConfiguration.pollIntervalRange)
            ?? GPIOInputConfiguration.defaultPollInterval
        let inputs = contacts.map { contact in
            GPIOInputConfiguration(
                channel: contact.channel, chip: chip, line: table.string(contact.key) ?? contact.defaultLine,
                activeLow: activeLow, bias: bias, debounce: debounce, changesAreEvents: true,
                trueText: contact.trueText, falseText: contact.falseText,
                trueEvent: contact.trueEvent, falseEvent: contact.falseEvent,
                pollInterval: pollInterval)
        }
        table.rejectUnknownKeys()
        return inputs
    }
}

/// The cabinet's contacts read over Modbus, from `[modbus.traffic_box]`: a
/// digital-input module on the RS-485 line (`profile = "di-8"`), or bits of
/// the traffic controller's status register. Every poll reads all contacts in
/// one request; a new state counts once `debouncePolls` polls in a row saw it.
///
/// ```toml
/// [modbus.traffic_box]
/// bus = "rs485"
/// unit = 2
/// profile = "di-8"          # discrete inputs 0…7; door on 0, flash_mode on 1, …
/// door = 0                  # which input each contact is wired to
/// on_battery = false        # not wired
/// poll = "250ms"
/// debounce_polls = 2
/// ```
public struct ModbusTrafficBoxConfiguration: Sendable, Hashable {
    /// One contact and where it is: an input number counted from `address`
    /// (discrete inputs, coils) or a bit of the register at `address` (0 = least significant).
    public struct WiredContact: Sendable, Hashable {
        public var contact: TrafficBoxContact
        public var position: Int
    }

    /// A shipped module layout: which table, and how many inputs it has.
    public struct ModuleProfile: Sendable, Hashable {
        public var table: ModbusTable
        public var inputs: Int
    }

    /// Shipped module profiles by name.
    public static let profiles: [String: ModuleProfile] = [
        // A generic 8- or 16-input DI module: discrete inputs from address 0.
        "di-8": ModuleProfile(table: .discreteInput, inputs: 8),
        "di-16": ModuleProfile(table: .discreteInput, inputs: 16),
    ]

    /// The `[[modbus.buses]]` name.
    public var bus: String
    public var unit: UInt8
    /// Where the contacts are: discrete inputs, coils, or a holding/input status register.
    public var table: ModbusTable
    /// First input (bit tables) or the status register (register tables), 0-based.
    public var address: UInt16
    public var contacts: [WiredContact]
    /// Whether a contact reads `true` when its input is off (contacts that open when active).
    public var activeLow: Bool
    public var pollInterval: Duration
    /// How many polls in a row must see a new state before it counts.
    public var debouncePolls: Int

    /// How many items the one request of a poll reads: up to the highest wired
    /// input, or the one status register.
    public var readCount: Int {
        table.holdsBits ? (contacts.map(\.position).max() ?? 0) + 1 : 1
    }

    /// Where the contacts are, for messages: `unit 2 on bus "rs485", discrete inputs 0…7`.
    public var description: String {
        let span = table.holdsBits
            ? "\(table == .coil ? "coils" : "discrete inputs") \(address)…\(Int(address) + readCount - 1)"
            : "\(table.rawValue) register \(address)"
        return "unit \(unit) on bus \"\(bus)\", \(span)"
    }

    static let pollRange: ClosedRange<Duration> = .milliseconds(50)...(.seconds(10))
    static let debounceRange = 1...20
    static let bitsPerRegister = 16

    static func read(_ table: TOMLReader, buses: [ModbusBusSection]) -> ModbusTrafficBoxConfiguration? {
        let bus = table.string("bus", required: true)
        if let bus, !buses.contains(where: { $0.name == bus }) {
            let known = buses.map { "\"\($0.name)\"" }.joined(separator: ", ")
            table.report("bus", "no [[modbus.buses]] is named \"\(bus)\"" + (known.isEmpty ? "; add one" : "; known buses: \(known)"))
        }
        let unit = table.int("unit", in: 1...255, required: true)
        if let unit, (248...254).contains(unit) {
            table.report("unit", "unit id \(unit) is reserved; use 1 to 247 (255 for some TCP gateways)")
        }
        var profile: ModuleProfile?
        if let name = table.string("profile") {
            profile = profiles[name]
            if profile == nil {
                let known = profiles.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
                table.report("profile", "unknown module profile \"\(name)\"; shipped profiles: \(known), or leave it out and give `table`")
            }
        }
        let tables = "\"discrete\" (digital inputs), \"coil\", \"holding\" or \"input\" (a status register)"
        let explicitTable = table.named("table", parse: ModbusTable.init(name:), allowed: tables,
                                        required: profile == nil && table.table["profile"] == nil)
        let kind = explicitTable ?? profile?.table
        let address = table.int("address", in: 0...65_535) ?? 0
        let activeLow = table.bool("active_low") ?? false
        let poll = table.duration("poll", in: pollRange) ?? .milliseconds(250)
        let debouncePolls = table.int("debounce_polls", in: debounceRange) ?? 2

        let limit = kind.map { Self.positionLimit(table: $0, address: address, profile: profile) }
        var contacts: [WiredContact] = []
        for contact in TrafficBoxProfile.contacts {
            guard let position = readPosition(table, contact: contact, profile: profile, kind: kind, limit: limit) else { continue }
            contacts.append(WiredContact(contact: contact, position: position))
        }
        if contacts.isEmpty && kind != nil {
            table.report("door", "no contact is wired; write each contact's input or bit, e.g. `door = 0`")
        }
        var used: [Int: String] = [:]
        for wired in contacts {
            if let first = used[wired.position] {
                let what = kind?.holdsBits == false ? "bit" : "input"
                table.report(wired.contact.key, "\(first) and \(wired.contact.key) are both on \(what) \(wired.position); "
                    + "each contact needs its own: move one, or write `\(wired.contact.key) = false` if it is not wired")
            }
            used[wired.position] = wired.contact.key
        }
        table.rejectUnknownKeys()
        guard let bus, let unit, let kind, !contacts.isEmpty, contacts.allSatisfy({ limit?.contains($0.position) == true }) else {
            return nil
        }
        return ModbusTrafficBoxConfiguration(
            bus: bus, unit: UInt8(unit), table: kind, address: UInt16(address), contacts: contacts, activeLow: activeLow,
            pollInterval: poll, debouncePolls: debouncePolls)
    }

    /// The input numbers or bits a contact may name: a register's 16 bits, the
    /// module's inputs, or as many bits as one request reads without running past address 65535.
    static func positionLimit(table: ModbusTable, address: Int, profile: ModuleProfile?) -> Range<Int> {
        guard table.holdsBits else { return 0..<bitsPerRegister }
        let upper = min(profile?.inputs ?? table.maxReadCount, table.maxReadCount, 65_536 - address)
        return 0..<max(0, upper)
    }

    /// A contact's input or bit: a whole number, `false` for "not wired", or
    /// the profile's default when the key is absent.
    static func readPosition(
        _ table: TOMLReader, contact: TrafficBoxContact, profile: ModuleProfile?, kind: ModbusTable?, limit: Range<Int>?
    ) -> Int? {
        let key = contact.key
        if table.table[key]?.value.boolean != nil {
            if table.bool(key) == true {
                table.report(key, "write the contact's input number or bit (e.g. \(key) = \(contact.defaultInput)), or `false` when it is not wired")
            }
            return nil
        }
        let given = table.int(key, in: Int.min...Int.max)
        guard let position = given ?? (profile != nil && table.table[key] == nil ? contact.defaultInput : nil) else { return nil }
        if let limit, !limit.contains(position) {
            let what = kind?.holdsBits == false
                ? "bit \(position) is outside the status register's bits 0…15 (0 is the least significant)"
                : limit.isEmpty ? "no input fits at `address`; lower it"
                : "input \(position) is outside the module's inputs 0…\(limit.upperBound - 1)"
            table.report(key, what)
        }
        return position
    }
}
