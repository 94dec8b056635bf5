import FoundationEssentials
import Lighting

/// One control command's request: its arguments as a `Codable` value, and the type of its
/// result. lampctl builds these instead of dictionaries; lampd's handlers encode the `Result`.
public protocol ControlCommandRequest: Encodable, Sendable {
    /// What the command answers with when it succeeds.
    associatedtype Result: Decodable, Sendable
    /// The dotted command name on the wire, e.g. `spool.export`.
    static var command: String { get }
}

// MARK: - ping

/// `ping`: answers at once; proves lampd is alive and says what it runs with.
public struct PingRequest: ControlCommandRequest {
    public typealias Result = PingResult
    public static let command = "ping"
    public init() {}
}

/// `ping`'s answer.
public struct PingResult: Codable, Hashable, Sendable {
    /// Always true.
    public var pong: Bool
    /// lampd's version, e.g. `0.1.0`.
    public var version: String
    /// The control protocol version lampd speaks.
    public var `protocol`: Int
    /// lampd's clock, ISO 8601 UTC.
    public var time: String
    /// The configuration file lampd started with; nil for the built-in simulated configuration.
    public var configurationFile: String?
    /// The state directory lampd runs with (`[storage] directory`): key, spool, last good copy.
    public var stateDirectory: String?

    public init(version: String, time: String, configurationFile: String? = nil, stateDirectory: String? = nil) {
        self.pong = true
        self.version = version
        self.protocol = ControlProtocol.version
        self.time = time
        self.configurationFile = configurationFile
        self.stateDirectory = stateDirectory
    }
}

// MARK: - status

/// `status`: everything `lampctl status` shows on one screen, with a health verdict.
public struct StatusRequest: ControlCommandRequest {
    public typealias Result = StatusResult
    public static let command = "status"
    public init() {}
}

/// `status`'s answer.
public struct StatusResult: Codable, Hashable, Sendable {
    public var version: String
    /// The device id upstream knows this pole by.
    public var device: String
    /// `simulated` or `live`.
    public var board: String
    /// lampd's clock, ISO 8601 UTC.
    public var time: String
    public var uptimeSeconds: Double
    public var clockSynchronised: Bool
    public var spool: SpoolStatsResult
    /// The latest reading of every channel.
    public var readings: [ReadingRecord]
    public var activeAlarms: [EventRecord]
    /// The last 10 alarms since lampd started.
    public var recentAlarms: [EventRecord]
    /// The lamp's decision, when this board drives a lamp.
    public var lamp: LampSummary?
    /// Today's sunrise and sunset, when `[site]` is configured.
    public var sun: SunTimes?
    /// The uplink's state (as `uplink.status` answers), when `[uplink]` is configured.
    public var uplink: UplinkStatus?
    /// True when `problems` is empty.
    public var healthy: Bool
    /// What needs attention, in a technician's words.
    public var problems: [String]
    /// Worth knowing but not a problem (e.g. an input polled because its line has no
    /// interrupt); absent from older lampd versions.
    public var notes: [String]?
    /// The city's desired state applied on this board (as `downlink.status` answers); absent
    /// from older lampd versions.
    public var downlink: DownlinkStatus?

    public init(version: String, device: String, board: String, time: String, uptimeSeconds: Double, clockSynchronised: Bool,
                spool: SpoolStatsResult, readings: [ReadingRecord], activeAlarms: [EventRecord], recentAlarms: [EventRecord],
                lamp: LampSummary?, sun: SunTimes?, uplink: UplinkStatus?, problems: [String], notes: [String]? = nil,
                downlink: DownlinkStatus? = nil) {
        self.notes = notes
        self.downlink = downlink
        self.version = version
        self.device = device
        self.board = board
        self.time = time
        self.uptimeSeconds = uptimeSeconds
        self.clockSynchronised = clockSynchronised
        self.spool = spool
        self.readings = readings
        self.activeAlarms = activeAlarms
        self.recentAlarms = recentAlarms
        self.lamp = lamp
        self.sun = sun
        self.uplink = uplink
        self.healthy = problems.isEmpty
        self.problems = problems
    }
}

/// The lamp on the status screen: its level, who decided it and why, and what comes next.
public struct LampSummary: Codable, Hashable, Sendable {
    public var levelPercent: Double
    /// Who decided: `override`, `program`, `failSafeAstroClock`, `failSafePhotocell` or `failSafeOn`
    /// (`LampDecisionSource.words` says it in a technician's words).
    public var source: String
    /// The arbiter's sentence.
    public var reason: String
    /// The next switch point of the schedule, if there is one.
    public var nextSwitch: NextSwitch?
    public var activeFaults: Int

    public init(levelPercent: Double, source: String, reason: String, nextSwitch: NextSwitch?, activeFaults: Int) {
        self.levelPercent = levelPercent
        self.source = source
        self.reason = reason
        self.nextSwitch = nextSwitch
        self.activeFaults = activeFaults
    }
}

/// A switch point to come: `{"time":"2026-12-06T16:10:00Z","levelPercent":100,"label":"sunset+00:10"}`.
public struct NextSwitch: Codable, Hashable, Sendable {
    /// When it fires, ISO 8601 UTC.
    public var time: String
    /// The level it switches to, percent.
    public var levelPercent: Int
    /// The switch point as configured, e.g. `sunset+00:10` or `23:00`.
    public var label: String

    public init(time: String, levelPercent: Int, label: String) {
        self.time = time
        self.levelPercent = levelPercent
        self.label = label
    }
}

/// The `source` of a lamp decision in a technician's words (`decided by fail-safe: nothing known`).
public enum LampDecisionSource {
    /// `failSafeOn` → `fail-safe: nothing known`; an unknown source is shown as sent. At most 24 characters.
    public static func words(_ source: String) -> String {
        switch source {
        case "override": "override"
        case "cityOverride": "city override"
        case "citySchedule": "city schedule"
        case "program": "the schedule"
        case "failSafeAstroClock": "fail-safe: astro clock"
        case "failSafePhotocell": "fail-safe: photocell"
        case "failSafeOn": "fail-safe: nothing known"
        default: source
        }
    }
}

/// Today's sunrise and sunset at the site: ISO 8601 UTC, or words ("sun does not rise").
public struct SunTimes: Codable, Hashable, Sendable {
    /// The local date, e.g. `2026-12-06`.
    public var date: String
    public var sunrise: String
    public var sunset: String

    public init(date: String, sunrise: String, sunset: String) {
        self.date = date
        self.sunrise = sunrise
        self.sunset = sunset
    }
}

/// A reading as the control protocol sends it.
public struct ReadingRecord: Codable, Hashable, Sendable {
    public var channel: String
    /// A number, a boolean (a contact) or a string.
    public var value: JSONValue
    /// SenML unit, e.g. `V`; nil when it has none.
    public var unit: String?
    /// ISO 8601 UTC.
    public var time: String
    public var ageSeconds: Double
    /// `uncertain`, `bad`, `clock-unsynchronised`.
    public var quality: [String]

    public init(channel: String, value: JSONValue, unit: String?, time: String, ageSeconds: Double, quality: [String]) {
        self.channel = channel
        self.value = value
        self.unit = unit
        self.time = time
        self.ageSeconds = ageSeconds
        self.quality = quality
    }
}

/// An event as the control protocol sends it.
public struct EventRecord: Codable, Hashable, Sendable {
    /// Its number since lampd started (`events` `since`).
    public var serial: Int64
    /// E.g. `cabinet.door.open`.
    public var kind: String
    /// `info`, `warning` or `alarm`.
    public var severity: String
    public var channel: String?
    public var value: JSONValue?
    /// ISO 8601 UTC.
    public var time: String
    public var message: String

    public init(serial: Int64, kind: String, severity: String, channel: String?, value: JSONValue?, time: String, message: String) {
        self.serial = serial
        self.kind = kind
        self.severity = severity
        self.channel = channel
        self.value = value
        self.time = time
        self.message = message
    }
}

// MARK: - spool.stats

/// `spool.stats`: the spool's counters.
public struct SpoolStatsRequest: ControlCommandRequest {
    public typealias Result = SpoolStatsResult
    public static let command = "spool.stats"
    public init() {}
}

/// The spool's counters (`spool.stats`, and `spool` in `status`).
public struct SpoolStatsResult: Codable, Hashable, Sendable {
    public var pendingReadings: Int
    public var pendingEvents: Int
    public var pendingAlarms: Int
    /// Records accepted but not yet on disk.
    public var bufferedRecords: Int
    public var oldestPendingAgeSeconds: Double?
    public var oldestPendingSequence: Int64?
    public var highestSequence: Int64
    public var usedBytes: Int64
    public var maxSizeBytes: Int64
    public var fileBytes: Int64
    public var droppedReadings: Int64
    public var droppedEvents: Int64
    public var droppedAlarms: Int64
    public var lostToWriteErrors: Int64
    /// Records refused since start (backlog).
    public var refusedRecords: Int

    public init(pendingReadings: Int, pendingEvents: Int, pendingAlarms: Int, bufferedRecords: Int, oldestPendingAgeSeconds: Double?,
                oldestPendingSequence: Int64?, highestSequence: Int64, usedBytes: Int64, maxSizeBytes: Int64, fileBytes: Int64,
                droppedReadings: Int64, droppedEvents: Int64, droppedAlarms: Int64, lostToWriteErrors: Int64, refusedRecords: Int) {
        self.pendingReadings = pendingReadings
        self.pendingEvents = pendingEvents
        self.pendingAlarms = pendingAlarms
        self.bufferedRecords = bufferedRecords
        self.oldestPendingAgeSeconds = oldestPendingAgeSeconds
        self.oldestPendingSequence = oldestPendingSequence
        self.highestSequence = highestSequence
        self.usedBytes = usedBytes
        self.maxSizeBytes = maxSizeBytes
        self.fileBytes = fileBytes
        self.droppedReadings = droppedReadings
        self.droppedEvents = droppedEvents
        self.droppedAlarms = droppedAlarms
        self.lostToWriteErrors = lostToWriteErrors
        self.refusedRecords = refusedRecords
    }
}

// MARK: - events

/// `events`: recent events from memory, oldest first.
public struct EventsRequest: ControlCommandRequest {
    public typealias Result = EventsResult
    public static let command = "events"
    /// Only events with a serial above this.
    public var since: Int64?
    /// Only events at most this old.
    public var sinceSeconds: Double?
    /// At most this many (the newest); lampd's default is 50.
    public var limit: Int64?

    public init(since: Int64? = nil, sinceSeconds: Double? = nil, limit: Int64? = nil) {
        self.since = since
        self.sinceSeconds = sinceSeconds
        self.limit = limit
    }
}

/// `events`' answer.
public struct EventsResult: Codable, Hashable, Sendable {
    public var events: [EventRecord]
    /// The serial of the newest event kept (follow with `since` = this).
    public var last: Int64
    /// How many events lampd keeps in memory.
    public var capacity: Int

    public init(events: [EventRecord], last: Int64, capacity: Int) {
        self.events = events
        self.last = last
        self.capacity = capacity
    }
}

// MARK: - spool.export

/// `spool.export`: pending records after a sequence number or from a time, one page per call.
public struct SpoolExportRequest: ControlCommandRequest {
    public typealias Result = SpoolExportResult
    public static let command = "spool.export"
    /// Only records with a sequence number above this.
    public var since: Int64?
    /// Only records taken at or after this time, ISO 8601 UTC; with `since` too, both must hold.
    public var sinceTime: String?
    /// Only records at most this old, on lampd's clock.
    public var sinceSeconds: Double?
    /// `senml-json` (default) or `csv`.
    public var format: String?
    /// Records per page, 1 to 2000 (default 500).
    public var limit: Int?

    public init(since: Int64? = nil, sinceTime: String? = nil, sinceSeconds: Double? = nil, format: String? = nil, limit: Int? = nil) {
        self.since = since
        self.sinceTime = sinceTime
        self.sinceSeconds = sinceSeconds
        self.format = format
        self.limit = limit
    }
}

/// One page of `spool.export`.
public struct SpoolExportResult: Codable, Hashable, Sendable {
    public var format: String
    public var count: Int
    /// True when another page follows (ask again with `since` = `last`).
    public var more: Bool
    /// The sequence number of the last record of this page; null when the page is empty.
    public var last: Int64?
    /// CSV only: the header line.
    public var header: String?
    /// CSV only: the rows, each ending in a newline.
    public var rows: String?
    /// SenML-JSON only: the records.
    public var records: [JSONValue]?

    public init(format: String, count: Int, more: Bool, last: Int64?, header: String? = nil, rows: String? = nil, records: [JSONValue]? = nil) {
        self.format = format
        self.count = count
        self.more = more
        self.last = last
        self.header = header
        self.rows = rows
        self.records = records
    }

    enum CodingKeys: String, CodingKey { case format, count, more, last, header, rows, records }

    /// Writes `"last": null` for an empty page (the protocol promises the key).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(count, forKey: .count)
        try container.encode(more, forKey: .more)
        try container.encode(last, forKey: .last)
        try container.encodeIfPresent(header, forKey: .header)
        try container.encodeIfPresent(rows, forKey: .rows)
        try container.encodeIfPresent(records, forKey: .records)
    }
}

// MARK: - selftest

/// `selftest`: the checks only the running lampd can make.
public struct SelfTestRequest: ControlCommandRequest {
    public typealias Result = SelfTestResult
    public static let command = "selftest"
    public init() {}
}

/// `selftest`'s answer.
public struct SelfTestResult: Codable, Hashable, Sendable {
    public var checks: [SelfTestCheck]
    public init(checks: [SelfTestCheck]) { self.checks = checks }
}

// MARK: - lamp.*, uplink.status, sync.now

/// `lamp.explain`: the lamp's level, why, and the next switch points.
public struct LampExplainRequest: ControlCommandRequest {
    public typealias Result = LightingSnapshot
    public static let command = "lamp.explain"
    public init() {}
}

/// `lamp.set`: a technician's override with an expiry. Its result is the accepted override.
public struct LampSetRequest: ControlCommandRequest {
    public typealias Result = LightOverride
    public static let command = "lamp.set"
    /// 0 to 100 %.
    public var level: Int
    /// How long the override holds (`ControlArgumentLimits.overrideSeconds`); nil = the configured maximum.
    public var forSeconds: Double?
    public var rampSeconds: Double?
    /// Why, in the technician's words (recorded in the audit trail).
    public var reason: String?

    public init(level: Int, forSeconds: Double? = nil, rampSeconds: Double? = nil, reason: String? = nil) {
        self.level = level
        self.forSeconds = forSeconds
        self.rampSeconds = rampSeconds
        self.reason = reason
    }
}

/// `lamp.clear`: back to the program. Its result says whether an override was removed.
public struct LampClearRequest: ControlCommandRequest {
    public typealias Result = LampClearResult
    public static let command = "lamp.clear"
    public init() {}
}

/// `lamp.test`: a visible ramp through the levels, then the program. Its result is the test started.
public struct LampTestRequest: ControlCommandRequest {
    public typealias Result = LampTest
    public static let command = "lamp.test"
    /// How long each level is held.
    public var stepSeconds: Double?
    public init(stepSeconds: Double? = nil) { self.stepSeconds = stepSeconds }
}

/// `uplink.status`: the uplink's state.
public struct UplinkStatusRequest: ControlCommandRequest {
    public typealias Result = UplinkStatus
    public static let command = "uplink.status"
    public init() {}
}

/// `sync.now`: send everything pending upstream now and wait; answers the uplink's state.
public struct SyncNowRequest: ControlCommandRequest {
    public typealias Result = UplinkStatus
    public static let command = "sync.now"
    /// How long to wait, default 30 s (`ControlArgumentLimits.syncTimeoutSeconds`).
    public var timeoutSeconds: Double?
    public init(timeoutSeconds: Double? = nil) { self.timeoutSeconds = timeoutSeconds }
}
