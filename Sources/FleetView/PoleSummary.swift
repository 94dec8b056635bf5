import Foundation

/// What the map colours a pole by; the first that applies, in this order (docs/live-view.md).
public enum PoleCondition: String, Sendable, Codable, CaseIterable {
    /// An active alarm (lamp failure, day burner, cabinet door, mains lost …).
    case fault
    /// No batch for longer than expected.
    case offline
    /// The board's clock is not synchronised: its city schedule is not applied.
    case clockUnsynchronised = "clock-unsynchronised"
    /// Batches are missing in its chain.
    case dataGap = "data-gap"
    /// A technician's or the city's override sets the lamp.
    case overridden
    case ok
    /// In the inventory, never heard from.
    case neverSeen = "never-seen"
}

/// An alarm that is on now at a pole.
public struct ActiveAlarm: Sendable, Equatable, Codable {
    /// The alarm, e.g. `lamp.failure`, `cabinet.door` (the raising event's kind without its suffix).
    public var alarm: String
    /// What an operator reads: "Cabinet door open".
    public var title: String
    public var since: Date
    /// The board's own message.
    public var message: String
    /// An operator's acknowledgement through the live view (the alarm stays active until the board clears it).
    public var acknowledged: AlarmAcknowledgement?

    public init(alarm: String, title: String, since: Date, message: String, acknowledged: AlarmAcknowledgement? = nil) {
        self.alarm = alarm
        self.title = title
        self.since = since
        self.message = message
        self.acknowledged = acknowledged
    }
}

/// Who acknowledged an alarm, when, and their note (the audit log keeps the same).
public struct AlarmAcknowledgement: Sendable, Equatable, Codable {
    public var by: String
    public var at: Date
    public var note: String

    public init(by: String, at: Date, note: String) {
        self.by = by
        self.at = at
        self.note = note
    }
}

/// One pole as the map and the list show it now.
public struct PoleSummary: Sendable, Equatable, Codable {
    public var pole: Pole
    public var condition: PoleCondition
    public var lampLevelPercent: Double?
    /// Why the board set that level ("city schedule: …", "technician override …").
    public var lampReason: String?
    public var alarms: [ActiveAlarm]
    /// When its newest batch arrived.
    public var lastSeen: Date?
    /// Time of the newest record it sent (lags `lastSeen` while a backlog drains).
    public var newestRecordAt: Date?
    /// Records the board still held when it sent its newest batch, when it said (nil: unknown).
    public var backlogRecords: Int?
    /// The schedule (scheduler document) version the board reported applied, and the one published.
    public var appliedScheduleVersion: Int64?
    public var publishedScheduleVersion: Int64?
    /// False for a board that sends batches but is not in the inventory: listed, not on the map
    /// (its `pole` has the device id as label and no real position).
    public var inInventory: Bool = true

    public init(
        pole: Pole, condition: PoleCondition, lampLevelPercent: Double? = nil, lampReason: String? = nil,
        alarms: [ActiveAlarm] = [], lastSeen: Date? = nil, newestRecordAt: Date? = nil, backlogRecords: Int? = nil,
        appliedScheduleVersion: Int64? = nil, publishedScheduleVersion: Int64? = nil
    ) {
        self.pole = pole
        self.condition = condition
        self.lampLevelPercent = lampLevelPercent
        self.lampReason = lampReason
        self.alarms = alarms
        self.lastSeen = lastSeen
        self.newestRecordAt = newestRecordAt
        self.backlogRecords = backlogRecords
        self.appliedScheduleVersion = appliedScheduleVersion
        self.publishedScheduleVersion = publishedScheduleVersion
    }
}
