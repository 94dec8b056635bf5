/// The agent's one place for turning a `Duration` into plain numbers
/// (configuration, sampling, the control socket and lampctl use these).
extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds (saturating at `Int64.max`).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ attoseconds / 1_000_000_000
    }

    /// The duration in whole milliseconds (saturating at `Int64.max`).
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
