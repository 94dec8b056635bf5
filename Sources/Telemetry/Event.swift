import Clocks

/// How serious an event is; decides what the spool drops last when full (alarms last).
public enum EventSeverity: Int, Hashable, Sendable, Comparable, CaseIterable {
    /// Something happened (door closed, schedule changed).
    case info = 0
    /// Needs attention but the lamp works (spool dropping telemetry, clock unsynchronised for long).
    case warning = 1
    /// An alarm: the lamp or the cabinet needs a technician (lamp failure, door forced, corrupt spool).
    case alarm = 2

    public static func < (lhs: EventSeverity, rhs: EventSeverity) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Something that happened, as opposed to a periodic `Reading`: an edge on an input, a fault,
/// a state change of the agent itself (e.g. "spool full: dropped 1200 readings").
///
/// `kind` is a short stable dotted identifier (`door.opened`, `lamp.failure`, `spool.full`)
/// that upstream matches on; `message` is for humans.
public struct Event: Hashable, Sendable {
    /// Stable identifier of what happened, e.g. `spool.full`.
    public var kind: String
    /// How serious it is.
    public var severity: EventSeverity
    /// The channel it concerns, if any.
    public var channel: ChannelName?
    /// A value that goes with it (the reading that crossed a threshold, a count …), if any.
    public var value: ReadingValue?
    /// When it happened.
    public var time: Timestamp
    /// What happened, in a technician's words.
    public var message: String

    public init(
        kind: String,
        severity: EventSeverity,
        channel: ChannelName? = nil,
        value: ReadingValue? = nil,
        time: Timestamp,
        message: String
    ) {
        self.kind = kind
        self.severity = severity
        self.channel = channel
        self.value = value
        self.time = time
        self.message = message
    }
}

/// A record the spool stores: a reading or an event.
public enum SpoolRecord: Hashable, Sendable {
    case reading(Reading)
    case event(Event)

    /// The drop class of this record (see `SpoolRecordClass`).
    public var recordClass: SpoolRecordClass {
        switch self {
        case .reading: return .telemetry
        case .event(let e): return e.severity == .alarm ? .alarm : .event
        }
    }

    /// When the reading was taken or the event happened.
    public var time: Timestamp {
        switch self {
        case .reading(let reading): return reading.time
        case .event(let event): return event.time
        }
    }
}

/// What the spool drops first when full: telemetry, then events, then alarms.
public enum SpoolRecordClass: Int, Hashable, Sendable, CaseIterable {
    /// Periodic readings: dropped first, oldest first.
    case telemetry = 0
    /// Events of severity info or warning: dropped only when no telemetry is left.
    case event = 1
    /// Events of severity alarm: dropped last.
    case alarm = 2
}

/// A record in the spool with its sequence number.
///
/// Sequence numbers start at 1, increase by one per record in commit order and are never
/// reused on this spool file, even after records were acknowledged or dropped: upstream uses
/// them to detect gaps and duplicates.
public struct SpooledRecord: Hashable, Sendable {
    /// Stable sequence number.
    public var sequence: Int64
    /// The record.
    public var record: SpoolRecord

    public init(sequence: Int64, record: SpoolRecord) {
        self.sequence = sequence
        self.record = record
    }
}
