import FoundationEssentials
import Lighting
import Telemetry
import TOML
import Uplink
import CivilTime
import SystemSupport

/// Everything `lampd` reads from its TOML file (default
/// `/etc/lampd/lampd.toml`), checked and with defaults filled in.
///
/// The file's format is documented in `docs/configuration.md`.
public struct LampdConfiguration: Sendable {
    /// Which board the agent runs on.
    public enum BoardKind: String, Sendable, CaseIterable {
        /// The built-in simulated board (any Linux machine).
        case simulated
        /// Real GPIO chips, serial ports and PWM channels.
        case live
    }

    /// The board and its identity.
    public struct Board: Sendable {
        public var kind: BoardKind
        /// The device id upstream knows this pole by, e.g. `pole-0421`.
        public var id: String
    }

    /// Where the pole stands (for the astronomical clock).
    public struct Site: Sendable {
        public var latitudeDegrees: Double
        public var longitudeDegrees: Double
        /// IANA time zone name, e.g. `Europe/Berlin`.
        public var timeZone: String
        /// Its rules, read from tzdata once when the configuration is read (UTC when the name is
        /// invalid: the configuration is then reported invalid anyway).
        public var zone: ZoneInfo
    }

    /// Local storage.
    public struct Storage: Sendable {
        /// State directory holding the spool, key and counters.
        public var directory: String
        /// Upper bound of the spool file, in megabytes.
        public var spoolMaxMegabytes: Int
        /// `telemetry_commit_window`: longest time a reading waits before its group is committed to disk
        /// (events and alarms are committed at once).
        public var commitWindow: Duration
    }

    public var board: Board
    public var site: Site?
    public var storage: Storage
    public var modbusBuses: [ModbusBusSection]
    public var modbusDevices: [ModbusDeviceConfiguration]
    public var gpioInputs: [GPIOInputConfiguration]
    /// `[modbus.traffic_box]`: the cabinet's contacts on a Modbus module; nil without the section.
    public var modbusTrafficBox: ModbusTrafficBoxConfiguration? = nil
    /// `[lighting]`; nil when the board does not drive a lamp.
    public var lighting: LightingConfiguration? = nil
    /// `[uplink]`; nil when nothing is sent upstream (everything stays in the spool).
    public var uplink: UplinkConfiguration? = nil
    /// `[watchdog]`; nil when lampd does not feed a hardware watchdog.
    public var watchdog: WatchdogConfiguration? = nil
    /// `[control]`: the control socket and its groups (defaults without the section).
    public var control = ControlConfiguration()
    /// `[downlink]`: the city's signed desired state (defaults without the section).
    public var downlink = DownlinkConfiguration()

    /// The files this configuration names (schedule file, certificates), resolved against its
    /// directory: `LastGoodConfiguration` keeps them with its copy.
    public internal(set) var pulledIn: [PulledInFile] = []
    /// The configuration's text as it was read and checked.
    public internal(set) var sourceText: [UInt8] = []

    /// Reads and checks a configuration file.
    ///
    /// - Throws: `ConfigurationErrors` listing every problem as
    ///   `file:line:column: key: message`.
    public static func load(path: String) throws(ConfigurationErrors) -> LampdConfiguration {
        try parse(bytes: readFile(path), file: path)
    }

    /// The bytes of the configuration file at `path`, or an error that says why there are none.
    static func readFile(_ path: String) throws(ConfigurationErrors) -> [UInt8] {
        var isDirectory = false
        let reason: String
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            reason = "does not exist"
        } else if isDirectory {
            reason = "is a directory; name the TOML file"
        } else if let data = FileManager.default.contents(atPath: path) {
            return [UInt8](data)
        } else {
            reason = "cannot be read (check its permissions; lampd runs as the lampd user)"
        }
        throw ConfigurationErrors(errors: [ConfigurationError(file: path, keyPath: "", message: "the configuration file \(reason)")])
    }

    /// Reads and checks configuration text; `file` names it in errors.
    public static func parse(_ text: String, file: String = "lampd.toml") throws(ConfigurationErrors) -> LampdConfiguration {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Reads and checks configuration bytes (UTF-8 TOML); `file` names it in errors, and relative
    /// paths in it are relative to `file`'s directory.
    public static func parse(bytes: [UInt8], file: String = "lampd.toml") throws(ConfigurationErrors) -> LampdConfiguration {
        let root: TOMLTable
        do {
            root = try TOML.parse(bytes)
        } catch {
            throw ConfigurationErrors(errors: [ConfigurationError(
                file: file, line: error.position.line, column: error.position.column,
                keyPath: "", message: "TOML syntax: \(error.message)")])
        }
        let diagnostics = ConfigurationDiagnostics(file: file, root: root)
        let directory = FilePaths.directory(of: file)
        let configuration = read(TOMLReader(root, path: "", diagnostics: diagnostics),
                                 directory: directory.isEmpty ? "." : directory)
        guard diagnostics.errors.isEmpty, var configuration else {
            throw ConfigurationErrors(errors: diagnostics.errors)
        }
        configuration.pulledIn = diagnostics.pulledIn
        configuration.sourceText = bytes
        return configuration
    }

    /// `[storage] telemetry_commit_window`, or its older name `commit_window` (configurations written
    /// before durability by class); giving both is an error, since they would disagree.
    private static func telemetryCommitWindow(_ storage: TOMLReader) -> Duration? {
        let range = SpoolConfiguration.telemetryCommitWindowRange
        let window = storage.duration("telemetry_commit_window", in: range)
        let older = storage.duration("commit_window", in: range)
        if window != nil, older != nil {
            storage.report("commit_window", "commit_window is the older name of telemetry_commit_window; "
                + "keep only telemetry_commit_window")
        }
        return window ?? older
    }

    private static func read(_ root: TOMLReader, directory: String) -> LampdConfiguration? {
        let boardTable = root.table("board", required: true)
        let kind: BoardKind? = boardTable?.choice("kind", required: true)
        let id = boardTable?.string("id", required: true)
        if let id, !DeviceIdentifier.isValid(id) {
            boardTable?.report("id", "\"\(id)\" is not a valid device id; use 1 to 64 letters, digits, '-', '_' or '.'")
        }
        boardTable?.rejectUnknownKeys()

        var site: Site?
        if let siteTable = root.table("site") {
            let latitude = siteTable.double("latitude", in: -90...90, required: true)
            let longitude = siteTable.double("longitude", in: -180...180, required: true)
            let zoneName = siteTable.string("timezone") ?? "UTC"
            var zone = ZoneInfo.utc
            do { zone = try TimeZoneDatabase.zone(named: zoneName) } catch {
                siteTable.report("timezone", error.description)
            }
            siteTable.rejectUnknownKeys()
            if let latitude, let longitude {
                site = Site(latitudeDegrees: latitude, longitudeDegrees: longitude, timeZone: zoneName, zone: zone)
            }
        }

        let storageTable = root.table("storage")
        let stateDirectory = storageTable?.string("directory") ?? "/var/lib/lampd"
        var isDirectory = false
        if FileManager.default.fileExists(atPath: stateDirectory, isDirectory: &isDirectory), !isDirectory {
            storageTable?.report("directory", "\(stateDirectory) exists and is not a directory; name a directory for lampd's state (lampd creates it if it is missing), e.g. \"/var/lib/lampd\"")
        }
        let storage = Storage(
            directory: stateDirectory,
            spoolMaxMegabytes: storageTable?.int("spool_max_mb", in: 1...65_536) ?? 64,
            commitWindow: storageTable.flatMap(Self.telemetryCommitWindow) ?? SpoolConfiguration.defaultTelemetryCommitWindow
        )
        storageTable?.rejectUnknownKeys()

        var buses: [ModbusBusSection] = []
        var devices: [ModbusDeviceConfiguration] = []
        var modbusTrafficBox: ModbusTrafficBoxConfiguration?
        if let modbus = root.table("modbus") {
            buses = modbus.tables("buses").compactMap(ModbusBusSection.read)
            devices = modbus.tables("devices").compactMap { ModbusDeviceConfiguration.read($0, buses: buses) }
            modbusTrafficBox = modbus.table("traffic_box").flatMap { ModbusTrafficBoxConfiguration.read($0, buses: buses) }
            modbus.rejectUnknownKeys()
            ModbusBusSection.checkUnique(buses, in: modbus)
        }

        var inputs: [GPIOInputConfiguration] = []
        var gpioTrafficBox = false
        if let gpio = root.table("gpio") {
            if let trafficBox = gpio.table("traffic_box") {
                inputs = TrafficBoxProfile.read(trafficBox)
                gpioTrafficBox = true
            }
            inputs += gpio.tables("inputs").compactMap(GPIOInputConfiguration.read)
            gpio.rejectUnknownKeys()
        }

        if modbusTrafficBox != nil, gpioTrafficBox {
            root.diagnostics.report("modbus.traffic_box", "the cabinet's contacts are read from [gpio.traffic_box] or from [modbus.traffic_box], not both; remove the section for the wiring this cabinet does not have")
            modbusTrafficBox = nil
        }
        // Channel names must be unique across all inputs: upstream keys on them.
        var seen: [String: String] = [:]
        let channels = devices.flatMap { device in device.registers.map { ($0.channel, "modbus device \"\(device.name)\"") } }
            + inputs.map { ($0.channel, "gpio input on line \($0.line)") }
            + (modbusTrafficBox?.contacts ?? []).map { ($0.contact.channel, "[modbus.traffic_box]") }
        for (channel, owner) in channels {
            if let first = seen[channel] {
                root.diagnostics.report("", "channel \"\(channel)\" is used twice (\(first) and \(owner)); channel names must be unique")
            }
            seen[channel] = owner
        }

        let lighting = root.table("lighting").flatMap {
            LightingConfiguration.read($0, site: site, siteGiven: root.table["site"] != nil, buses: buses,
                                       configurationDirectory: directory)
        }

        let uplink = root.table("uplink").flatMap {
            UplinkConfiguration.read($0, configurationDirectory: directory)
        }
        let watchdog = root.table("watchdog").flatMap(WatchdogConfiguration.read)
        let control = root.table("control").map { ControlConfiguration.read($0) } ?? ControlConfiguration()
        let downlink = root.table("downlink").map { DownlinkConfiguration.read($0, configurationDirectory: directory) }
            ?? DownlinkConfiguration()

        root.rejectUnknownKeys()
        guard let kind, let id else { return nil }
        return LampdConfiguration(
            board: Board(kind: kind, id: id), site: site, storage: storage,
            modbusBuses: buses, modbusDevices: devices, gpioInputs: inputs, modbusTrafficBox: modbusTrafficBox,
            lighting: lighting, uplink: uplink, watchdog: watchdog, control: control, downlink: downlink)
    }
}

/// Rules for the device id and channel names: SenML-safe, short, readable.
public enum DeviceIdentifier {
    /// 1–64 of `A–Z a–z 0–9 - _ .`, starting with a letter or digit.
    public static func isValid(_ text: String) -> Bool {
        func isLetterOrDigit(_ s: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
        }
        guard (1...64).contains(text.count), let first = text.unicodeScalars.first, isLetterOrDigit(first) else { return false }
        return text.unicodeScalars.allSatisfy { isLetterOrDigit($0) || "-_.".unicodeScalars.contains($0) }
    }
}
