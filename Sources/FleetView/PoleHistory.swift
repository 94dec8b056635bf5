import Foundation
import Ingest

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

    public init(time: Date, kind: String, severity: String, message: String) {
        self.time = time
        self.kind = kind
        self.severity = severity
        self.message = message
    }
}

/// A pole's readings and events over a period, oldest first, as its pole page shows them.
public struct PoleHistory: Sendable, Equatable {
    public var device: String
    public var from: Date
    public var to: Date
    public var readings: [HistoryReading]
    public var events: [HistoryEvent]

    public init(device: String, from: Date, to: Date, readings: [HistoryReading], events: [HistoryEvent]) {
        self.device = device
        self.from = from
        self.to = to
        self.readings = readings
        self.events = events
    }
}

extension PoleHistory {
    /// The pole's readings and events in [from, to], read from the store and verified again.
    /// (Contract only: the store query lands with the history work.)
    public static func load(device: String, from: Date, to: Date, store: any BatchStore) async throws(IngestError) -> PoleHistory {
        PoleHistory(device: device, from: from, to: to, readings: [], events: [])
    }
}
