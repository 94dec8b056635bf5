import LampdConfig
import ControlProtocol
import FoundationEssentials
import Lighting
import Telemetry
import CivilTime
import Clocks

/// What the built-in control commands read: the agent's identity, the spool
/// and the in-memory `RecentTelemetry`.
public struct AgentControlContext: Sendable {
    public var version: String
    /// The device id upstream knows this pole by.
    public var deviceID: String
    /// `simulated` or `live`.
    public var boardKind: String
    public var spool: Spool
    public var telemetry: RecentTelemetry
    /// Records the spool refused since start (`SpoolSink.refusedRecords`).
    public var refusedRecords: @Sendable () -> Int
    public var timeSource: any TimeSource
    /// When lampd started, on the monotonic clock (for the uptime).
    public var started: ContinuousClock.Instant
    /// The lamp's latest decision, if this board drives a lamp.
    public var lamp: @Sendable () async -> LightingSnapshot? = { nil }
    /// Where the pole stands, for today's sunrise and sunset.
    public var site: LampdConfiguration.Site?
    /// The uplink's state, if `[uplink]` is configured.
    public var uplink: @Sendable () -> UplinkStatus? = { nil }
    /// The city's desired state on this board (`DesiredStateApplier`).
    public var downlink: @Sendable () async -> DownlinkStatus? = { nil }
    /// Problems of the state directory and the spool since start (`StorageHealth`), for the health verdict.
    public var storageProblems: @Sendable () -> [String] = { [] }
    /// The configuration file lampd started with (`ping` tells lampctl selftest); nil = built in.
    public var configurationFile: String?
    /// The state directory lampd runs with (`[storage] directory`).
    public var stateDirectory: String?

    public init(
        version: String, deviceID: String, boardKind: String, spool: Spool, telemetry: RecentTelemetry,
        refusedRecords: @escaping @Sendable () -> Int = { 0 }, timeSource: any TimeSource,
        started: ContinuousClock.Instant = .now
    ) {
        self.version = version
        self.deviceID = deviceID
        self.boardKind = boardKind
        self.spool = spool
        self.telemetry = telemetry
        self.refusedRecords = refusedRecords
        self.timeSource = timeSource
        self.started = started
    }
}

extension ControlCommandRegistry {
    /// The commands every lampd answers: `ping`, `status`, `spool.stats`, `events`, `spool.export`.
    public static func agentCommands(_ context: AgentControlContext) -> ControlCommandRegistry {
        var registry = ControlCommandRegistry()
        registry.register(PingCommand(context: context))
        registry.register(StatusCommand(context: context))
        registry.register(SpoolStatsCommand(context: context))
        registry.register(EventsCommand(context: context))
        registry.register(SpoolExportCommand(context: context))
        return registry
    }
}

// MARK: - ping

/// `ping`: answers at once; proves the daemon is alive and which version it is.
struct PingCommand: ControlHandler {
    let context: AgentControlContext
    var command: String { "ping" }
    var permission: ControlPermission { .read }
    var summary: String { "check that lampd answers" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        try JSONValue(encoding: PingResult(
            version: context.version, time: context.timeSource.now().date.formatted(.iso8601),
            configurationFile: context.configurationFile, stateDirectory: context.stateDirectory))
    }
}

// MARK: - status

/// `status`: everything `lampctl status` shows on one screen, with a health verdict.
struct StatusCommand: ControlHandler {
    let context: AgentControlContext
    var command: String { "status" }
    var permission: ControlPermission { .read }
    var summary: String { "device, uptime, clock, spool, latest readings, alarms and health" }

    /// Today's sunrise and sunset at the site, in UTC (or "never"), for the status screen.
    static func sun(site: LampdConfiguration.Site?, now: Date) -> SunTimes? {
        guard let site, let location = GeoLocation(latitudeDegrees: site.latitudeDegrees, longitudeDegrees: site.longitudeDegrees)
        else { return nil }
        let zone = site.zone
        let today = LocalTimeConversion.local(now, in: zone).date
        let calculator = SolarCalculator(location: location)
        func text(_ event: SolarEvent) -> String {
            switch calculator.time(of: event, on: today, timeZone: zone) {
            case .at(let date): date.formatted(.iso8601)
            case .polarNight: "sun does not rise"
            case .midnightSun: "sun does not set"
            default: "not on this date"
            }
        }
        return SunTimes(date: today.description, sunrise: text(.sunrise), sunset: text(.sunset))
    }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        let now = context.timeSource.now()
        let stats = try await SpoolStatsResult(context: context)
        let kept = context.telemetry.events()
        let active = context.telemetry.activeAlarms()
        var problems: [String] = []
        for alarm in active { problems.append("alarm: \(alarm.event.message)") }
        if !now.isClockSynchronised {
            problems.append("clock not synchronised: check timesyncd or chrony and the network")
        }
        problems += context.storageProblems()
        if kept.contains(where: { $0.event.kind == "spool.full" }) || stats.refusedRecords > 0 || stats.lostToWriteErrors > 0 {
            problems.append("spool dropping records since lampd started: check the uplink and `lampctl spool stats`")
        }
        // In Doubles: byte counts multiplied as integers could overflow.
        let fullPercent = stats.maxSizeBytes > 0 ? Double(stats.usedBytes) * 100 / Double(stats.maxSizeBytes) : 0
        if fullPercent >= 90 {
            problems.append("spool \(CheckedNumber.clampedInteger(fullPercent.rounded(.down))) % full: the uplink is not draining it")
        }
        let snapshot = await context.lamp()
        let lamp = snapshot.map { s in
            LampSummary(levelPercent: s.levelPercent, source: s.source.rawValue, reason: s.reason,
                        nextSwitch: s.nextSwitches.first.map { NextSwitch(time: $0.at.formatted(.iso8601), levelPercent: $0.levelPercent, label: $0.label) },
                        activeFaults: s.activeFaults.count)
        }
        if let snapshot, let error = snapshot.outputError { problems.append("lamp output: \(error)") }
        let uplink = context.uplink()
        if let uplink, uplink.state == "rejected" || uplink.state == "no-key" {
            problems.append("uplink: \(uplink.lastError ?? uplink.state)")
        }
        let status = StatusResult(
            version: context.version, device: context.deviceID, board: context.boardKind,
            time: now.date.formatted(.iso8601),
            uptimeSeconds: Self.seconds(ContinuousClock.now - context.started),
            clockSynchronised: now.isClockSynchronised, spool: stats,
            readings: context.telemetry.latestReadings().map { ReadingRecord($0, now: now) },
            activeAlarms: active.map(EventRecord.init),
            recentAlarms: kept.filter { $0.event.severity == .alarm }.suffix(10).map(EventRecord.init),
            lamp: lamp, sun: Self.sun(site: context.site, now: now.date), uplink: uplink,
            problems: problems,
            notes: kept.filter { $0.event.kind == GPIOInputWatcher.polledEventKind }.map(\.event.message),
            downlink: await context.downlink())
        return try JSONValue(encoding: status)
    }

    static func seconds(_ duration: Duration) -> Double {
        (duration.seconds * 1000).rounded() / 1000
    }
}

extension SpoolStatsResult {
    /// The spool's counters as the control protocol sends them.
    init(context: AgentControlContext) async throws {
        let stats: SpoolStatistics
        do {
            stats = try await context.spool.statistics()
        } catch {
            throw ControlError(code: "spool-unavailable", message: "the spool's counters could not be read: \(error.description) — check the disk and `journalctl -u lampd`")
        }
        self.init(
            pendingReadings: stats.pendingReadings, pendingEvents: stats.pendingEvents, pendingAlarms: stats.pendingAlarms,
            bufferedRecords: stats.bufferedRecords,
            oldestPendingAgeSeconds: stats.oldestPendingAge.map { max(0, StatusCommand.seconds($0)) },
            oldestPendingSequence: stats.oldestPendingSequence, highestSequence: stats.highestSequence,
            usedBytes: stats.usedBytes, maxSizeBytes: stats.maxSizeBytes, fileBytes: stats.fileBytes,
            droppedReadings: stats.droppedRecords[.telemetry] ?? 0, droppedEvents: stats.droppedRecords[.event] ?? 0,
            droppedAlarms: stats.droppedRecords[.alarm] ?? 0, lostToWriteErrors: stats.recordsLostToWriteErrors,
            refusedRecords: context.refusedRecords())
    }
}

extension ReadingRecord {
    /// `reading` as the control protocol sends it, its age counted from `now`.
    init(_ reading: Reading, now: Timestamp) {
        let sameBoot = reading.time.bootID == now.bootID && now.bootID != Timestamp.unknownBootID
        let nanoseconds = sameBoot
            ? CheckedNumber.difference(now.bootNanoseconds, reading.time.bootNanoseconds)
            : CheckedNumber.difference(now.utcNanoseconds, reading.time.utcNanoseconds)
        self.init(
            channel: reading.channel.rawValue, value: JSONValue(reading.value),
            unit: reading.unit == .none ? nil : reading.unit.rawValue, time: reading.time.date.formatted(.iso8601),
            ageSeconds: max(0, (Double(nanoseconds) / 1e6).rounded() / 1000), quality: Self.names(reading.quality))
    }

    static func names(_ quality: ReadingQuality) -> [String] {
        var names: [String] = []
        if quality.contains(.uncertain) { names.append("uncertain") }
        if quality.contains(.bad) { names.append("bad") }
        if quality.contains(.clockUnsynchronised) { names.append("clock-unsynchronised") }
        return names
    }
}

extension EventRecord {
    /// A kept event as the control protocol sends it.
    init(_ numbered: RecentTelemetry.NumberedEvent) {
        let event = numbered.event
        self.init(
            serial: numbered.serial, kind: event.kind, severity: Self.name(event.severity), channel: event.channel?.rawValue,
            value: event.value.map(JSONValue.init), time: event.time.date.formatted(.iso8601), message: event.message)
    }

    static func name(_ severity: EventSeverity) -> String {
        switch severity {
        case .info: "info"
        case .warning: "warning"
        case .alarm: "alarm"
        }
    }
}

extension JSONValue {
    /// A reading's value as JSON: number, boolean or string.
    init(_ value: ReadingValue) {
        switch value {
        case .number(let n): self = n.isFinite ? .number(n) : .string("\(n)")
        case .boolean(let b): self = .bool(b)
        case .string(let s): self = .string(s)
        }
    }
}

// MARK: - spool.stats

/// `spool.stats`: the spool's counters.
struct SpoolStatsCommand: ControlHandler {
    let context: AgentControlContext
    var command: String { "spool.stats" }
    var permission: ControlPermission { .read }
    var summary: String { "the spool's pending, dropped and size counters" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        try JSONValue(encoding: try await SpoolStatsResult(context: context))
    }
}

// MARK: - events

/// `events`: recent events from memory (the last few hundred since lampd started).
struct EventsCommand: ControlHandler {
    let context: AgentControlContext
    var command: String { "events" }
    var permission: ControlPermission { .read }
    var summary: String { "recent events, oldest first; since=SERIAL or sinceSeconds=N" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        // Every number through a checked conversion: a huge sinceSeconds once trapped lampd.
        let since = try call.arguments.integer("since", in: ControlArgumentLimits.sequence, command: command) ?? 0
        let age = try call.arguments.seconds("sinceSeconds", in: ControlArgumentLimits.eventAgeSeconds, command: command)
        let limit = try call.arguments.integer("limit", in: ControlArgumentLimits.eventCount, command: command) ?? 50
        var events = context.telemetry.events(afterSerial: since)
        if let age {
            let cutoff = CheckedNumber.difference(context.timeSource.now().utcNanoseconds, age.nanoseconds)
            events = events.filter { $0.event.time.utcNanoseconds >= cutoff }
        }
        let last = context.telemetry.events().last?.serial ?? 0
        return try JSONValue(encoding: EventsResult(
            events: events.suffix(Int(limit)).map(EventRecord.init), last: last, capacity: context.telemetry.eventCapacity))
    }
}

// MARK: - spool.export

/// `spool.export`: pending records after a sequence number, as SenML-JSON or CSV, one page per call.
struct SpoolExportCommand: ControlHandler {
    let context: AgentControlContext
    var command: String { "spool.export" }
    var permission: ControlPermission { .read }
    var summary: String { "pending records after since=SEQ, taken from sinceTime=ISO8601 or sinceSeconds=AGE, as format=senml-json|csv, limit per page" }

    static let maximumPage = 2000

    func handle(_ call: ControlCall) async throws -> JSONValue {
        let format = try call.arguments.text("format", maximumCharacters: 32, command: command) ?? "senml-json"
        guard format == "senml-json" || format == "csv" else {
            throw ControlError.badArguments(command, "format \"\(format)\" is not known; use senml-json or csv")
        }
        let limit = Int(try call.arguments.integer("limit", in: 1...Int64(Self.maximumPage), command: command) ?? 500)
        let since = try call.arguments.integer("since", in: ControlArgumentLimits.sequence, command: command) ?? 0
        let taken = try takenFrom(call.arguments)
        let records: [SpooledRecord]
        do {
            // One more than asked, to know whether another page follows.
            records = try await context.spool.oldestPending(limit: limit + 1, afterSequence: since)
        } catch {
            throw ControlError(code: "spool-unavailable", message: "the spool could not be read: \(error.description)")
        }
        let read = Array(records.prefix(limit))
        // The time filter keeps paging by sequence number: `last` is the last record read, shown or not.
        let page = taken.map { cutoff in read.filter { $0.record.time.utcNanoseconds >= cutoff } } ?? read
        var result = SpoolExportResult(format: format, count: page.count, more: records.count > limit, last: read.last?.sequence)
        switch format {
        case "csv":
            result.header = SpoolExportFormat.csvHeader
            result.rows = page.map(SpoolExportFormat.csvRow).joined()
        default:
            result.records = SpoolExportFormat.senML(page, deviceID: context.deviceID)
        }
        return try JSONValue(encoding: result)
    }

    /// The earliest record time asked for, in UTC nanoseconds: `sinceTime` (ISO 8601) or
    /// `sinceSeconds` (an age on lampd's clock), the later of the two when both are given.
    func takenFrom(_ arguments: JSONValue) throws(ControlError) -> Int64? {
        var cutoffs: [Int64] = []
        if let age = try arguments.seconds("sinceSeconds", in: ControlArgumentLimits.eventAgeSeconds, command: command) {
            cutoffs.append(CheckedNumber.difference(context.timeSource.now().utcNanoseconds, age.nanoseconds))
        }
        if let text = try arguments.text("sinceTime", maximumCharacters: 64, command: command) {
            guard let date = try? Date(text, strategy: Date.ISO8601FormatStyle()),
                  let nanoseconds = CheckedNumber.nanoseconds(seconds: date.timeIntervalSince1970, in: ControlArgumentLimits.utcSeconds)
            else {
                throw ControlError.badArguments(command, "argument \"sinceTime\" must be a UTC time such as 2026-12-06T03:00:00Z; \(text) is not")
            }
            cutoffs.append(nanoseconds)
        }
        return cutoffs.max()
    }
}
