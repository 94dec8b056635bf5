import Clocks

/// The value of a reading or event: a number, a boolean or a string (SenML `v`, `vb`, `vs`).
public enum ReadingValue: Hashable, Sendable {
    /// A number (SenML `v`), in the reading's unit.
    case number(Double)
    /// A boolean (SenML `vb`), e.g. a door contact.
    case boolean(Bool)
    /// A string (SenML `vs`), e.g. a firmware version or a fault code.
    case string(String)
}

/// How far a reading can be trusted. An option set: a reading can be both `.uncertain` and
/// `.clockUnsynchronised`. The empty set means good.
public struct ReadingQuality: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Everything fine.
    public static let good: ReadingQuality = []
    /// The value may be wrong (sensor out of range, stale Modbus register, retried read).
    public static let uncertain = ReadingQuality(rawValue: 1 << 0)
    /// The value is known to be wrong (sensor fault); kept so upstream sees the fault.
    public static let bad = ReadingQuality(rawValue: 1 << 1)
    /// The wall-clock time was not synchronised when measured: place it by `bootNanoseconds`.
    public static let clockUnsynchronised = ReadingQuality(rawValue: 1 << 2)
}

/// One periodic measurement of one channel: what the sampler produces, the spool stores
/// and the uplink sends as one SenML record.
///
/// `quality` always contains `.clockUnsynchronised` when `time.isClockSynchronised` is false
/// (the initialiser adds it), so the flag travels even where only the quality is looked at.
public struct Reading: Hashable, Sendable {
    /// Which quantity (SenML `n`).
    public var channel: ChannelName
    /// The measured value (SenML `v` / `vb` / `vs`).
    public var value: ReadingValue
    /// Unit of a numeric value (SenML `u`); `.none` for booleans and strings.
    public var unit: SenMLUnit
    /// When it was measured.
    public var time: Timestamp
    /// How far it can be trusted.
    public var quality: ReadingQuality

    public init(
        channel: ChannelName,
        value: ReadingValue,
        unit: SenMLUnit = .none,
        time: Timestamp,
        quality: ReadingQuality = .good
    ) {
        self.channel = channel
        self.value = value
        self.unit = unit
        self.time = time
        self.quality = time.isClockSynchronised ? quality : quality.union(.clockUnsynchronised)
    }
}
