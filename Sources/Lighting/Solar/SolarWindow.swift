import FoundationEssentials

extension SolarCalculator {
    /// The first instant in [`start`, `end`) at which `event` happens, or nil.
    ///
    /// Used by the schedule, whose "lighting day" runs from local noon to local noon.
    public func firstTime(of event: SolarEvent, from start: Date, to end: Date) -> Date? {
        crossingInstants(of: event, from: start.timeIntervalSince1970, to: end.timeIntervalSince1970)
            .min().map { Date(timeIntervalSince1970: $0) }
    }
}
