import FoundationEssentials
import Lighting
import TOML
import Telemetry
import CivilTime
import Clocks

/// The `[lighting]` section: how lampd drives the lamp, on what schedule,
/// and how it judges the meter's feedback (docs/configuration.md).
///
/// Needs `[site]` (latitude, longitude, time zone) for the astro clock.
public struct LightingConfiguration: Sendable {
    /// The relay line that switches the lamp.
    public struct Relay: Sendable, Hashable {
        /// GPIO chip name, e.g. `gpiochip0` (ignored on the simulated board).
        public var chip: String
        /// Line name or offset, e.g. `GPIO18` or `18` (`LAMP_RELAY` on the simulated board).
        public var line: String
        /// True when the relay closes with the line electrically low.
        public var activeLow: Bool
    }

    /// The PWM dim input (sysfs `pwmchipN/pwmM`).
    public struct PWM: Sendable, Hashable {
        public var chip: Int
        public var channel: Int
        public var periodNanoseconds: UInt64
        /// Lowest level the driver runs at while on, percent.
        public var minimumLevelPercent: Double
        /// Higher duty gives less light (many 0–10 V converters).
        public var inverted: Bool
    }

    /// A holding register of a Modbus gateway (DALI, 0–10 V).
    public struct ModbusRegister: Sendable, Hashable {
        /// Name of a `[[modbus.buses]]` entry.
        public var bus: String
        public var unit: UInt8
        /// 0-based holding-register address.
        public var address: UInt16
        /// Register value per percent (2.54 for DALI arc power 0–254).
        public var scale: Double
        public var minimumLevelPercent: Double
    }

    /// What drives the lamp.
    public enum Output: Sendable, Hashable {
        case relay(Relay)
        case relayPWM(Relay, PWM)
        case modbus(ModbusRegister)
    }

    /// Channel names of the readings lampd takes as lamp feedback.
    public struct MeterChannels: Sendable, Hashable {
        /// Active power, watts (default `meter.power`).
        public var power: String
        /// Supply voltage, volts (default `meter.voltage`).
        public var voltage: String
        /// Power factor 0–1 (default `meter.power-factor`).
        public var powerFactor: String
        /// Cumulative energy, kWh (default `meter.energy`).
        public var energy: String

        public static let standard = MeterChannels(power: "meter.power", voltage: "meter.voltage",
                                                   powerFactor: "meter.power-factor", energy: "meter.energy")
    }

    public var output: Output
    /// The schedule; nil only when built by hand without one (the service then runs fail-safe).
    public var schedule: Schedule?
    /// Where the schedule came from, for messages: `[lighting.program]` or the file path.
    public var scheduleOrigin: String
    public var location: GeoLocation?
    public var timeZone: ZoneInfo
    public var overridePolicy: OverridePolicy
    /// Level used when the fail-safe says "on", percent 1–100 (default 100).
    public var failSafeLevelPercent: Double
    /// Electrical model of the lamp for fault detection; nil = no fault detection.
    public var lampType: LampType?
    public var meter: MeterChannels
    /// Boolean channel of a photocell (true = dark), used only by the fail-safe.
    public var photocellChannel: String?
    /// How often the level is decided (switch points are also met exactly).
    public var stepInterval: Duration
    /// Longest time between two writes of the counters file.
    public var counterSaveInterval: Duration

    public init(output: Output, schedule: Schedule?, scheduleOrigin: String = "[lighting.program]", location: GeoLocation?,
                timeZone: ZoneInfo, overridePolicy: OverridePolicy = OverridePolicy(), failSafeLevelPercent: Double = 100,
                lampType: LampType? = nil, meter: MeterChannels = .standard, photocellChannel: String? = nil,
                stepInterval: Duration = .seconds(5), counterSaveInterval: Duration = .seconds(600)) {
        self.output = output
        self.schedule = schedule
        self.scheduleOrigin = scheduleOrigin
        self.location = location
        self.timeZone = timeZone
        self.overridePolicy = overridePolicy
        self.failSafeLevelPercent = failSafeLevelPercent
        self.lampType = lampType
        self.meter = meter
        self.photocellChannel = photocellChannel
        self.stepInterval = stepInterval
        self.counterSaveInterval = counterSaveInterval
    }

    enum OutputKind: String, CaseIterable {
        case relay
        case relayPWM = "relay+pwm"
        case modbus
    }

    /// Reads `[lighting]`; `site` is `[site]` if it was read, `siteGiven` whether the table exists at all.
    static func read(_ table: TOMLReader, site: LampdConfiguration.Site?, siteGiven: Bool,
                     buses: [ModbusBusSection], configurationDirectory: String) -> LightingConfiguration? {
        if !siteGiven {
            table.diagnostics.report(table.path, "[lighting] needs the pole's place: add [site] with latitude, longitude and timezone (e.g. \"Europe/Berlin\") for the astro clock")
        }
        let kind: OutputKind? = table.choice("output", required: true)
        let failSafe = table.int("fail_safe_level", in: 10...100) ?? 100
        let photocell = table.string("photocell_channel")
        let step = table.duration("step", in: .seconds(1)...(.seconds(60))) ?? .seconds(5)
        let save = table.duration("counters_save", in: .seconds(10)...(.seconds(86_400))) ?? .seconds(600)
        let scheduleFile = table.string("schedule_file")

        var output: Output?
        let relayTable = table.table("relay")
        let pwmTable = table.table("pwm")
        let modbusTable = table.table("modbus")
        func relay() -> Relay? {
            guard let relayTable else {
                table.report("relay", "missing; output \"\(kind?.rawValue ?? "")\" needs [lighting.relay] with its line (and chip, default \"gpiochip0\")")
                return nil
            }
            // The same default chip as [[gpio.inputs]].
            let chip = relayTable.string("chip") ?? "gpiochip0"
            let line = relayTable.string("line", required: true)
            let activeLow = relayTable.bool("active_low") ?? false
            relayTable.rejectUnknownKeys()
            guard let line else { return nil }
            return Relay(chip: chip, line: line, activeLow: activeLow)
        }
        switch kind {
        case .relay?:
            output = relay().map(Output.relay)
        case .relayPWM?:
            let r = relay()
            var pwm: PWM?
            if let pwmTable {
                let chip = pwmTable.int("chip", in: 0...255, required: true)
                let channel = pwmTable.int("channel", in: 0...255, required: true)
                let period = pwmTable.duration("period", in: .microseconds(10)...(.milliseconds(100))) ?? .milliseconds(1)
                let minimum = pwmTable.double("min_level", in: 0...100) ?? 0
                let inverted = pwmTable.bool("inverted") ?? false
                pwmTable.rejectUnknownKeys()
                if let chip, let channel {
                    pwm = PWM(chip: chip, channel: channel, periodNanoseconds: UInt64(clamping: period.nanoseconds), minimumLevelPercent: minimum, inverted: inverted)
                }
            } else {
                table.report("pwm", "missing; output \"relay+pwm\" needs [lighting.pwm] with chip and channel")
            }
            if let r, let pwm { output = .relayPWM(r, pwm) }
        case .modbus?:
            if let modbusTable {
                let bus = modbusTable.string("bus", required: true)
                let unit = modbusTable.int("unit", in: 0...255, required: true)
                let address = modbusTable.int("register", in: 0...65_535, required: true)
                let scale = modbusTable.double("scale", in: 0.001...655.35) ?? 1
                let minimum = modbusTable.double("min_level", in: 0...100) ?? 0
                if let bus, !buses.contains(where: { $0.name == bus }) {
                    let known = buses.map { "\"\($0.name)\"" }.joined(separator: ", ")
                    modbusTable.report("bus", "no [[modbus.buses]] is named \"\(bus)\"" + (known.isEmpty ? "; define one" : "; known: \(known)"))
                }
                modbusTable.rejectUnknownKeys()
                if let bus, let unit, let address, buses.contains(where: { $0.name == bus }) {
                    output = .modbus(ModbusRegister(bus: bus, unit: UInt8(unit), address: UInt16(address), scale: scale, minimumLevelPercent: minimum))
                }
            } else {
                table.report("modbus", "missing; output \"modbus\" needs [lighting.modbus] with bus, unit and register")
            }
        case nil:
            break
        }
        // Sections for another output kind are typos or leftovers: say so.
        if kind != nil {
            if kind == .modbus, relayTable != nil { table.report("relay", "not used with output = \"modbus\"; remove it") }
            if kind != .relayPWM, pwmTable != nil { table.report("pwm", "only used with output = \"relay+pwm\"; remove it") }
            if kind != .modbus, modbusTable != nil { table.report("modbus", "only used with output = \"modbus\"; remove it") }
        }

        let lampType = table.table("lamp").flatMap(readLampType)
        let policy = table.table("override").map(readOverridePolicy) ?? OverridePolicy()

        var meter = MeterChannels.standard
        if let meterTable = table.table("meter") {
            meter.power = meterTable.string("power") ?? meter.power
            meter.voltage = meterTable.string("voltage") ?? meter.voltage
            meter.powerFactor = meterTable.string("power_factor") ?? meter.powerFactor
            meter.energy = meterTable.string("energy") ?? meter.energy
            meterTable.rejectUnknownKeys()
        }

        var schedule: Schedule?
        var origin = "[lighting.program]"
        let programTable = table.table("program")
        if let scheduleFile {
            origin = ConfigurationPath.resolve(scheduleFile, relativeTo: configurationDirectory)
            if programTable != nil {
                table.report("program", "use either schedule_file or [lighting.program], not both")
            }
            do {
                let contents = try ScheduleFile.read(path: origin)
                schedule = try ScheduleFile.parse(Data(contents), path: origin)
                table.pullIn("schedule_file", resolvedPath: origin, contents: contents)
            } catch {
                table.report("schedule_file", "\(error)")
            }
        } else if let programTable {
            schedule = readProgram(programTable)
        } else {
            table.report("program", "missing; add [lighting.program] (switch points) or schedule_file (a TALQ calendar)")
        }
        table.rejectUnknownKeys()

        guard let output, let schedule, let site else { return nil }
        return LightingConfiguration(
            output: output, schedule: schedule, scheduleOrigin: origin,
            location: GeoLocation(latitudeDegrees: site.latitudeDegrees, longitudeDegrees: site.longitudeDegrees),
            timeZone: site.zone,
            overridePolicy: policy, failSafeLevelPercent: Double(failSafe), lampType: lampType, meter: meter,
            photocellChannel: photocell, stepInterval: step, counterSaveInterval: save)
    }

    private static func readLampType(_ table: TOMLReader) -> LampType? {
        let name = table.string("name") ?? "lamp"
        let nominal = table.double("nominal_watts", in: 1...10_000, required: true)
        let minimum = table.double("minimum_watts", in: 0...10_000, required: true)
        let standby = table.double("standby_watts", in: 0...100) ?? 1
        let tolerance = table.double("tolerance_percent", in: 1...100) ?? 15
        let warmUp = table.duration("warm_up", in: .zero...(.seconds(3600))) ?? .seconds(60)
        let minVolts = table.double("min_voltage", in: 0...1000) ?? 207
        let maxVolts = table.double("max_voltage", in: 0...1000) ?? 253
        let minPF = table.double("min_power_factor", in: 0...1) ?? 0.9
        if let nominal, let minimum, minimum > nominal {
            table.report("minimum_watts", "\(minimum) W is more than nominal_watts (\(nominal) W)")
            return nil
        }
        if minVolts >= maxVolts { table.report("max_voltage", "must be above min_voltage") }
        table.rejectUnknownKeys()
        guard let nominal, let minimum else { return nil }
        return LampType(name: name, nominalPowerWatts: nominal, minimumPowerWatts: minimum, standbyPowerWatts: standby,
                        tolerancePercent: tolerance, warmUpSeconds: warmUp.seconds, minimumVoltageVolts: minVolts,
                        maximumVoltageVolts: maxVolts, minimumPowerFactor: minPF)
    }

    private static func readOverridePolicy(_ table: TOMLReader) -> OverridePolicy {
        var policy = OverridePolicy()
        let day: Duration = .seconds(86_400)
        if let d = table.duration("technician_default", in: .seconds(60)...day) { policy.defaultTechnicianDurationSeconds = d.seconds }
        if let d = table.duration("technician_maximum", in: .seconds(60)...(day * 7)) { policy.maximumTechnicianDurationSeconds = d.seconds }
        if let d = table.duration("upstream_maximum", in: .seconds(60)...(day * 366)) { policy.maximumUpstreamDurationSeconds = d.seconds }
        if policy.defaultTechnicianDurationSeconds > policy.maximumTechnicianDurationSeconds {
            table.report("technician_default", "is longer than technician_maximum")
        }
        table.rejectUnknownKeys()
        return policy
    }

    /// `[lighting.program]`: `from`/`to` (the active period, optional), `ramp` (default for every
    /// point) and `[lighting.program.switch_points]` with `"time" = level` or `"time" = { level, ramp }`.
    private static func readProgram(_ table: TOMLReader) -> Schedule? {
        let id = table.string("id") ?? "default"
        func switchTime(_ key: String) -> SwitchTime? {
            table.named(key, parse: SwitchTime.init, allowed: "a time like \"23:00\" or an event with an offset like \"sunset+00:10\", \"sunrise-00:10\", \"civilDusk\"")
        }
        let from = switchTime("from")
        let to = switchTime("to")
        if (table.table["from"] == nil) != (table.table["to"] == nil) {
            table.report(table.table["from"] == nil ? "to" : "from", "the active period needs both from and to")
        }
        let ramp = table.duration("ramp", in: .zero...(.seconds(3600))) ?? .zero
        var points: [SwitchPoint] = []
        var ok = from != nil || table.table["from"] == nil
        if let pointsTable = table.table("switch_points", required: true) {
            for key in pointsTable.table.keys.sorted() {
                guard let at = SwitchTime(key) else {
                    pointsTable.report(key, "\"\(key)\" is not a switch time; write \"23:00\", or an event with an offset like \"sunset+00:10\" (events: sunset, sunrise, civilDusk, civilDawn, nauticalDusk, nauticalDawn)")
                    ok = false
                    continue
                }
                if pointsTable.table[key]?.value.table != nil, let point = pointsTable.table(key) {
                    let level = point.int("level", in: 0...100, required: true)
                    let pointRamp = point.duration("ramp", in: .zero...(.seconds(3600))) ?? ramp
                    point.rejectUnknownKeys()
                    if let level { points.append(SwitchPoint(at: at, levelPercent: level, rampSeconds: pointRamp.seconds)) } else { ok = false }
                } else if let level = pointsTable.int(key, in: 0...100) {
                    points.append(SwitchPoint(at: at, levelPercent: level, rampSeconds: ramp.seconds))
                } else {
                    ok = false
                }
            }
            if pointsTable.table.keys.isEmpty {
                pointsTable.diagnostics.report(pointsTable.path, "no switch points; add lines like \"23:00\" = 60")
                ok = false
            }
        } else {
            ok = false
        }
        table.rejectUnknownKeys()
        guard ok else { return nil }
        let period = (from != nil && to != nil) ? ActivePeriod(from: from!, to: to!) : nil
        do {
            return try Schedule(calendar: LightingCalendar(id: "lampd.toml", rules: [], defaultProgram: id),
                                programs: [ControlProgram(id: id, activePeriod: period, switchPoints: points)])
        } catch {
            table.diagnostics.report(table.path, error.description)
            return nil
        }
    }
}

/// Reads a schedule file: the plain JSON form of `Schedule` (`calendar` + `programs`) or a
/// TALQ 2.7.1 export (`calendar` + `controlPrograms`).
public enum ScheduleFile {
    struct TALQFile: Decodable {
        var calendar: TALQ.Calendar
        var controlPrograms: [TALQ.ControlProgramOne]
    }

    public static func load(path: String) throws -> Schedule {
        try parse(Data(read(path: path)), path: path)
    }

    /// The schedule file's bytes, or an error that says why there are none.
    static func read(path: String) throws -> [UInt8] {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AgentError("cannot read the schedule file \(path): it does not exist")
        }
        guard !isDirectory else { throw AgentError("the schedule file \(path) is a directory; name the JSON file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError("cannot read the schedule file \(path): check its permissions")
        }
        return [UInt8](data)
    }

    /// Reads a schedule from the bytes of the file at `path` (named in errors).
    static func parse(_ data: Data, path: String) throws -> Schedule {
        do {
            if try JSONDecoder().decode(TALQProbe.self, from: data).isTALQ {
                let file = try JSONDecoder().decode(TALQFile.self, from: data)
                return try TALQ.schedule(calendar: file.calendar, programs: file.controlPrograms)
            }
            return try JSONDecoder().decode(Schedule.self, from: data)
        } catch let error as ScheduleError {
            throw AgentError("schedule file \(path): \(error.description)")
        } catch let error as DecodingError {
            throw AgentError("schedule file \(path): \(describe(error))")
        } catch {
            throw AgentError("schedule file \(path) is not valid JSON: \(error)")
        }
    }

    /// Whether a JSON document is a TALQ export (an object with `controlPrograms`), read
    /// without decoding the rest; any other document is read as lampd's own schedule.
    private struct TALQProbe: Decodable {
        var isTALQ: Bool

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let object = try? decoder.container(keyedBy: Key.self)
            isTALQ = object?.contains(Key(stringValue: "controlPrograms")) ?? false
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .dataCorrupted(let c): return "\(path(c)): \(c.debugDescription)"
        case .keyNotFound(let key, let c): return "\(path(c)): missing \"\(key.stringValue)\""
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(path(c)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
