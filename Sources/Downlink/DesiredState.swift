import FoundationEssentials
import Lighting

/// What a city key may change on a board (docs/downlink.md, "Roles").
///
/// A `scheduler` key signs control programs, the calendar, the default light state and the remote
/// configuration; an `operator` key signs the city override only. Each role has its own stream of
/// documents on the board: the newest applied document of each role is in force.
public enum DesiredStateRole: String, Hashable, Sendable, Codable, CaseIterable {
    case scheduler
    case `operator`
}

/// The city's override (TALQ `OverrideCommand.targetCommand`): a level from `start` to `expiry`.
///
/// Times are whole seconds since the Unix epoch (UTC). A city override always ends: `expiry` is
/// required, and the board refuses one longer than its `max_override_duration`.
public struct CityOverride: Hashable, Sendable, Codable {
    /// Light level 0–100 %.
    public var levelPercent: Int
    /// Seconds since the epoch at which it takes effect.
    public var startSeconds: Int64
    /// Seconds since the epoch at which it ends (after `startSeconds`).
    public var expirySeconds: Int64
    /// Seconds to ramp to the level (TALQ `rampToLevelTime`), 0…3600.
    public var rampSeconds: Int
    /// Why, in the operator's words ("festival on the market square").
    public var reason: String?

    public init(levelPercent: Int, startSeconds: Int64, expirySeconds: Int64, rampSeconds: Int = 0, reason: String? = nil) {
        self.levelPercent = levelPercent
        self.startSeconds = startSeconds
        self.expirySeconds = expirySeconds
        self.rampSeconds = rampSeconds
        self.reason = reason
    }

    /// Its length in seconds (`expiry − start`, never overflowing: both are checked on decoding).
    public var durationSeconds: Int64 { expirySeconds - startSeconds }
}

/// The few settings the city may change remotely (never keys, never the upstream URL).
///
/// nil = keep the board's own configuration.
public struct RemoteConfiguration: Hashable, Sendable, Codable {
    /// `[uplink] batch_interval`, in seconds (1…86 400).
    public var batchIntervalSeconds: Int?
    /// `[uplink] max_bytes_per_day` (10 000…2 147 483 647).
    public var maxBytesPerDay: Int?
    /// Polling period per configured device or input name, in seconds (1…86 400).
    public var samplingPeriodSeconds: [String: Int]?

    public init(batchIntervalSeconds: Int? = nil, maxBytesPerDay: Int? = nil, samplingPeriodSeconds: [String: Int]? = nil) {
        self.batchIntervalSeconds = batchIntervalSeconds
        self.maxBytesPerDay = maxBytesPerDay
        self.samplingPeriodSeconds = samplingPeriodSeconds
    }

    /// True when nothing is set.
    public var isEmpty: Bool { batchIntervalSeconds == nil && maxBytesPerDay == nil && samplingPeriodSeconds == nil }
}

/// One signed desired-state document for one board (docs/downlink.md).
///
/// The header fields bind it: `deviceID` (one board), `version` (only grows, per role on the
/// board), `issuedAtSeconds` and `expiresAtSeconds` (whole seconds since the epoch; a document
/// is applied only before it expires). The content is role-scoped: `schedule`,
/// `defaultLightStatePercent` and `configuration` belong to the scheduler key, `override` to
/// the operator key. A scheduler document replaces the whole scheduler content on the board; an
/// operator document without `override` clears the city override.
public struct DesiredState: Hashable, Sendable, Codable {
    public var deviceID: String
    /// 1…2^63−1; a board applies a document only if its version is above the applied one of its role.
    public var version: UInt64
    public var issuedAtSeconds: Int64
    public var expiresAtSeconds: Int64
    /// Control programs and calendar (TALQ `ControlProgram`, `Calendar`), checked as a `Schedule`.
    public var schedule: Schedule?
    /// TALQ `defaultLightState`: the level when no calendar decides, 0–100 %.
    public var defaultLightStatePercent: Int?
    /// Settings changed remotely.
    public var configuration: RemoteConfiguration?
    /// The city override.
    public var override: CityOverride?

    public init(deviceID: String, version: UInt64, issuedAtSeconds: Int64, expiresAtSeconds: Int64, schedule: Schedule? = nil,
                defaultLightStatePercent: Int? = nil, configuration: RemoteConfiguration? = nil, override: CityOverride? = nil) {
        self.deviceID = deviceID
        self.version = version
        self.issuedAtSeconds = issuedAtSeconds
        self.expiresAtSeconds = expiresAtSeconds
        self.schedule = schedule
        self.defaultLightStatePercent = defaultLightStatePercent
        self.configuration = configuration
        self.override = override
    }

    /// The roles whose content this document sets (empty content = the operator clearing its override).
    public var rolesNeeded: Set<DesiredStateRole> {
        var roles = Set<DesiredStateRole>()
        if schedule != nil || defaultLightStatePercent != nil || configuration != nil { roles.insert(.scheduler) }
        if override != nil { roles.insert(.operator) }
        return roles
    }
}
