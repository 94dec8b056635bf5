import FoundationEssentials

/// The ranges control arguments must fall in (docs/control-protocol.md, "Limits"); lampctl
/// checks its command-line arguments against the same ranges.
public enum ControlArgumentLimits {
    /// Sequence numbers and event serials (`since`): what a JSON number holds exactly.
    public static let sequence: ClosedRange<Int64> = 0...ControlProtocol.largestExactInteger
    /// `spool.export` `sinceTime`, in seconds since 1970: what nanoseconds in an Int64 hold.
    public static let utcSeconds: ClosedRange<Double> = -9_000_000_000...9_000_000_000
    /// `events` and `spool.export` `sinceSeconds`: an age of at most 10 years.
    public static let eventAgeSeconds: ClosedRange<Double> = 0...(3650 * 86_400)
    /// `events` `limit`.
    public static let eventCount: ClosedRange<Int64> = 0...10_000
    /// `lamp.set` `forSeconds`: more than 0, at most 7 days (the largest `technician_maximum`);
    /// the configured maximum then shortens it.
    public static let overrideSeconds: ClosedRange<Double> = 0.001...(7 * 86_400)
    /// `lamp.set` `rampSeconds`: at most one hour.
    public static let rampSeconds: ClosedRange<Double> = 0...3600
    /// `lamp.set` `reason`, in characters (longer is cut, marked with "…").
    public static let reasonCharacters = 200
    /// `sync.now` `timeoutSeconds`.
    public static let syncTimeoutSeconds: ClosedRange<Double> = 0.001...600
}
