/// The one place for turning a `Duration` into plain numbers (the spool, the uplink, the agent's
/// configuration, sampling and control socket, and lampctl use these; `CheckedTime` goes the other
/// way, from numbers that come from outside).
extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds (saturating at `Int64.min` and `Int64.max`).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowAdding) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAdding ? (whole < 0 ? .min : .max) : total
    }

    /// The duration in whole milliseconds (saturating at `Int64.max`).
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
