import FoundationEssentials

/// What the city's signed desired state asks of the lamp, as the arbiter sees it (the documents
/// themselves are checked and stored by the agent; docs/downlink.md).
///
/// Priority (``LightArbiter``): a technician's override > `override` > `schedule`, else
/// `defaultLightStatePercent` > the locally configured schedule > fail-safe. Both need trusted
/// time: while the clock is not synchronised the arbiter ignores them (fail-safe), as it
/// ignores every override not timed by a technician on the board's clock.
public struct CityDirections: Hashable, Sendable {
    /// The city's calendar and programs.
    public var schedule: Schedule?
    /// TALQ `defaultLightState`: the level when the city sends no calendar, 0–100 %.
    public var defaultLightStatePercent: Int?
    /// Names the scheduler document in reasons, e.g. `city schedule v7`.
    public var scheduleLabel: String
    /// The city override (source `.upstream`), in force between its start and expiry.
    public var override: LightOverride?
    /// Names the operator document in reasons, e.g. `city override v12`.
    public var overrideLabel: String

    public init(schedule: Schedule? = nil, defaultLightStatePercent: Int? = nil, scheduleLabel: String = "city schedule",
                override: LightOverride? = nil, overrideLabel: String = "city override") {
        self.schedule = schedule
        self.defaultLightStatePercent = defaultLightStatePercent
        self.scheduleLabel = scheduleLabel
        self.override = override
        self.overrideLabel = overrideLabel
    }

    /// True when the city asks for a schedule or a default level.
    public var hasSchedule: Bool { schedule != nil || defaultLightStatePercent != nil }
}
