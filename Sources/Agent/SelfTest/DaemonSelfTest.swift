import ControlProtocol
import LampdConfig
import FoundationEssentials
import Hardware
import Telemetry
import Clocks

/// The checks only the running lampd can make, because it holds the GPIO lines and the
/// Modbus buses and sees the latest readings: the `selftest` control command.
///
/// Checks, in order: `gpio`, `lamp-output`, `modbus.<device>` for every configured device
/// (`modbus.traffic_box` for the cabinet's contact module),
/// `meter`, `clock`, `loops`, `watchdog.systemd`, `watchdog.hardware`.
public struct DaemonSelfTest: Sendable {
    /// A configured Modbus device as the self-test names it.
    public struct ModbusDevice: Sendable {
        public var name: String
        public var bus: String
        public var unit: UInt8
        public var pollSeconds: Double
    }

    /// A configured GPIO input: its channel and line.
    public struct GPIOInput: Sendable {
        public var channel: String
        public var chip: String
        public var line: String
    }

    public var boardKind: LampdConfiguration.BoardKind
    public var modbusDevices: [ModbusDevice]
    public var gpioInputs: [GPIOInput]
    public var telemetry: RecentTelemetry
    public var answers: ModbusDeviceAnswers
    public var heartbeats: LoopHeartbeats
    public var notifier: SystemdNotifier
    public var timeSource: any TimeSource
    /// When lampd started, on the monotonic clock.
    public var started: ContinuousClock.Instant
    /// The lamp output's error (nil when it works), or nil when there is no lamp.
    public var lampOutput: @Sendable () async -> (description: String, error: String?)? = { nil }
    /// The hardware watchdog's check; nil = no `[watchdog]` section.
    public var hardwareWatchdog: (@Sendable () -> SelfTestCheck)? = nil

    public init(configuration: LampdConfiguration, telemetry: RecentTelemetry, answers: ModbusDeviceAnswers,
                heartbeats: LoopHeartbeats, notifier: SystemdNotifier = SystemdNotifier(), timeSource: any TimeSource,
                started: ContinuousClock.Instant = .now) {
        boardKind = configuration.board.kind
        modbusDevices = configuration.modbusDevices.map {
            ModbusDevice(name: $0.name, bus: $0.bus, unit: $0.unit, pollSeconds: $0.pollInterval.seconds)
        }
        if let cabinet = configuration.modbusTrafficBox {
            modbusDevices.append(ModbusDevice(name: ModbusCabinetPoller.answerName, bus: cabinet.bus, unit: cabinet.unit,
                                              pollSeconds: cabinet.pollInterval.seconds))
        }
        gpioInputs = configuration.gpioInputs.map { GPIOInput(channel: $0.channel, chip: $0.chip, line: $0.line) }
        self.telemetry = telemetry
        self.answers = answers
        self.heartbeats = heartbeats
        self.notifier = notifier
        self.timeSource = timeSource
        self.started = started
    }

    /// Runs every check; none blocks (they read what the services recorded).
    public func run() async -> [SelfTestCheck] {
        let now = timeSource.now()
        let uptime = (ContinuousClock.now - started).seconds
        let readings = telemetry.latestReadings()
        var checks: [SelfTestCheck] = [gpio(readings)]
        if let lamp = await lampOutput() {
            checks.append(lamp.error.map { .fail("lamp-output", "\(lamp.description): \($0)") }
                ?? .pass("lamp-output", "works: \(lamp.description)"))
        }
        checks += modbusDevices.map { modbus($0, now: now, uptime: uptime) }
        checks.append(meter(readings))
        checks.append(now.isClockSynchronised
            ? .pass("clock", "synchronised (NTP)")
            : .fail("clock", "not synchronised: check timesyncd or chrony and the network (timedatectl)"))
        let stalled = heartbeats.stalled(atSeconds: heartbeats.nowSeconds)
        checks.append(stalled.isEmpty
            ? .pass("loops", "every loop makes progress")
            : .fail("loops", "stalled: " + stalled.map { "\($0.name) (silent \(CheckedNumber.clampedInteger($0.silentSeconds.rounded(.down))) s)" }.joined(separator: ", ")))
        checks.append(systemdWatchdog())
        checks.append(hardwareWatchdog?() ?? .skip("watchdog.hardware", "no [watchdog] section in the configuration"))
        return checks
    }

    func gpio(_ readings: [Reading]) -> SelfTestCheck {
        guard !gpioInputs.isEmpty else { return .skip("gpio", "no GPIO inputs configured") }
        let read = Set(readings.map(\.channel.rawValue))
        let missing = gpioInputs.filter { !read.contains($0.channel) }
        guard missing.isEmpty else {
            let names = missing.map { "\($0.line) on \($0.chip)" }.joined(separator: ", ")
            return .fail("gpio", "not read since lampd started: \(names) — check the chip and line names (`lampctl gpio list`)")
        }
        let polled = telemetry.events().filter { $0.event.kind == GPIOInputWatcher.polledEventKind }
            .compactMap { $0.event.channel?.rawValue }
        // Polled lines first: the text form cuts the detail at 80 columns.
        let polling = polled.isEmpty ? "" : "polled (no interrupt): " + polled.joined(separator: ", ") + "; "
        return .pass("gpio", "\(polling)\(gpioInputs.count) input lines claimed and read by lampd")
    }

    func modbus(_ device: ModbusDevice, now: Timestamp, uptime: Double) -> SelfTestCheck {
        let name = "modbus.\(device.name)"
        let which = "unit \(device.unit) on bus \(device.bus)"
        guard let entry = answers.entry(device.name) else {
            return uptime < 2 * device.pollSeconds + 5
                ? .skip(name, "\(which) not polled yet; try again in a few seconds")
                : .fail(name, "\(which) not polled since lampd started — see `journalctl -u lampd`")
        }
        let age = max(0, now.utcSeconds - entry.polledAtSeconds)
        guard entry.answered else {
            // A malformed answer or an exception is not "no answer": say what the unit did.
            let verdict = entry.failureCode.map(ModbusError.verdict(code:)) ?? "did not answer"
            let advice = verdict == "did not answer" ? " — check wiring, address and baud rate" : ""
            return .fail(name, "\(which) \(verdict): \(entry.failure ?? "no answer")\(advice)")
        }
        // "in 2 requests": how many Modbus requests the poll took (block reads); short for the 80-column text.
        let requests = entry.requests.map { " in \($0) request\($0 == 1 ? "" : "s")" } ?? ""
        return .pass(name, "\(which) answered \(CheckedNumber.clampedInteger(age)) s ago\(requests)")
    }

    func meter(_ readings: [Reading]) -> SelfTestCheck {
        var problems: [String] = []
        var judged = 0
        for reading in readings {
            guard case .number(let value) = reading.value, ["V", "Hz", "kWh", "Wh"].contains(reading.unit.rawValue) else { continue }
            judged += 1
            if let problem = MeterPlausibility.problem(channel: reading.channel.rawValue, value: value, unit: reading.unit.rawValue) {
                problems.append(problem)
            }
        }
        guard judged > 0 else { return .skip("meter", "no voltage, frequency or energy readings (yet)") }
        guard problems.isEmpty else { return .fail("meter", problems.joined(separator: "; ")) }
        return .pass("meter", "voltage, frequency and energy plausible (\(judged) readings)")
    }

    func systemdWatchdog() -> SelfTestCheck {
        guard notifier.socketPath != nil else {
            return boardKind == .simulated
                ? .skip("watchdog.systemd", "lampd was not started by systemd (no NOTIFY_SOCKET)")
                : .fail("watchdog.systemd", "lampd was not started by systemd (no NOTIFY_SOCKET): use `systemctl start lampd`")
        }
        guard let interval = notifier.watchdogInterval else {
            return .fail("watchdog.systemd", "the unit has no WatchdogSec=: check systemd/lampd.service")
        }
        return .pass("watchdog.systemd", "armed, WatchdogSec=\(CheckedNumber.clampedInteger(interval.seconds.rounded(.down))) s")
    }
}
