import Foundation
import Ingest
import Telemetry
import Uplink

/// One reading of a pole's history, its time resolved to UTC.
public struct HistoryReading: Sendable, Equatable, Codable {
    public var time: Date
    /// The channel, e.g. `meter.active_power`, `meter.energy`, `lamp.level`.
    public var channel: String
    public var value: Double

    public init(time: Date, channel: String, value: Double) {
        self.time = time
        self.channel = channel
        self.value = value
    }
}

/// One event of a pole's history, its time resolved to UTC.
public struct HistoryEvent: Sendable, Equatable, Codable {
    public var time: Date
    /// The event kind, e.g. `cabinet.door.opened`, `lamp.override`, `audit.lamp.set`.
    public var kind: String
    /// `info`, `warning` or `alarm`.
    public var severity: String
    public var message: String
    /// The number that goes with it, when it has one: the level in % of `lamp.level` and `lamp.restored`.
    public var value: Double?

    public init(time: Date, kind: String, severity: String, message: String, value: Double? = nil) {
        self.time = time
        self.kind = kind
        self.severity = severity
        self.message = message
        self.value = value
    }
}

/// A pole's readings and events over a period, oldest first, as its pole page shows them.
///
/// Bounded: at most `maximumReadings` readings and `maximumEvents` events (the newest are kept,
/// `droppedReadings`/`droppedEvents` count the others), over at most `maximumPeriodSeconds`.
public struct PoleHistory: Sendable, Equatable {
    public var device: String
    public var from: Date
    public var to: Date
    public var readings: [HistoryReading]
    public var events: [HistoryEvent]
    /// The last `lamp.level`/`lamp.restored` event in the `levelLookbackSeconds` before `from`:
    /// the lamp's level when the period began (nil: unknown, see docs/energy-report.md).
    public var levelBefore: HistoryEvent?
    /// Readings and events of the period left out by the bounds (the oldest).
    public var droppedReadings: Int
    public var droppedEvents: Int

    public init(
        device: String, from: Date, to: Date, readings: [HistoryReading], events: [HistoryEvent],
        levelBefore: HistoryEvent? = nil, droppedReadings: Int = 0, droppedEvents: Int = 0
    ) {
        self.device = device
        self.from = from
        self.to = to
        self.readings = readings
        self.events = events
        self.levelBefore = levelBefore
        self.droppedReadings = droppedReadings
        self.droppedEvents = droppedEvents
    }

    /// About 5.8 days of a board's six meter channels at one reading a minute.
    public static let maximumReadings = 50_000
    public static let maximumEvents = 10_000
    /// 31 days: a pole page shows days, not a year (the energy report reads longer periods pole by pole).
    public static let maximumPeriodSeconds: Double = 31 * 86_400
    /// How far before `from` the lamp's level is looked for.
    public static let levelLookbackSeconds: Double = 86_400

    /// True for the events that set the lamp's level (their value is the level in %).
    public static func isLevelEvent(_ kind: String) -> Bool { kind == "lamp.level" || kind == "lamp.restored" }
}

extension PoleHistory {
    /// The pole's readings and events in [from, to] (times resolved, docs/uplink.md §3), read
    /// from the store and verified again, oldest first; the batches received before `from` (less
    /// the clock slack and the level lookback) are not read. Refuses `to` ≤ `from` and a period
    /// longer than `maximumPeriodSeconds`.
    public static func load(device: String, from: Date, to: Date, store: any BatchStore) async throws(IngestError) -> PoleHistory {
        let period = try PolePeriod(from: from, to: to, maximumSeconds: maximumPeriodSeconds)
        var readings = NewestKept<HistoryReading>(limit: maximumReadings)
        var events = NewestKept<HistoryEvent>(limit: maximumEvents)
        var levelBefore: HistoryEvent?
        try await PoleRecords.forEach(device: device, period: period, lookbackSeconds: levelLookbackSeconds, store: store) {
            _, seconds, record in
            let time = Date(timeIntervalSince1970: seconds)
            switch record.kind {
            case .reading:
                guard period.contains(seconds), let value = PoleRecords.number(record.value), let channel = record.channel else { return }
                readings.append(HistoryReading(time: time, channel: channel, value: value), at: seconds)
            case .event(let kind, let severity):
                let event = HistoryEvent(
                    time: time, kind: kind, severity: PoleRecords.words(severity), message: record.message ?? "",
                    value: PoleRecords.number(record.value))
                if period.contains(seconds) {
                    events.append(event, at: seconds)
                } else if seconds < period.from, isLevelEvent(kind), event.value != nil,
                    levelBefore.map({ $0.time <= time }) ?? true
                {
                    levelBefore = event
                }
            }
        }
        return PoleHistory(
            device: device, from: from, to: to, readings: readings.sorted(), events: events.sorted(), levelBefore: levelBefore,
            droppedReadings: readings.dropped, droppedEvents: events.dropped)
    }
}
