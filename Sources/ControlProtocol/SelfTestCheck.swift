import FoundationEssentials

/// One line of `lampctl selftest`: a named check and its outcome, with what was
/// found in words a technician acts on.
public struct SelfTestCheck: Sendable, Hashable, Codable {
    /// How a check came out.
    public enum Outcome: String, Sendable, Hashable, Codable {
        case pass
        case fail
        /// Could not be checked here (not configured, not permitted, not yet known).
        case skip
    }

    /// Stable name, e.g. `clock`, `modbus.meter`, `device-key`.
    public var name: String
    public var outcome: Outcome
    /// What was found, e.g. "unit 1 on bus rs485 answered 2 s ago".
    public var detail: String

    public init(_ name: String, _ outcome: Outcome, _ detail: String) {
        self.name = name
        self.outcome = outcome
        self.detail = detail
    }

    public static func pass(_ name: String, _ detail: String) -> SelfTestCheck { SelfTestCheck(name, .pass, detail) }
    public static func fail(_ name: String, _ detail: String) -> SelfTestCheck { SelfTestCheck(name, .fail, detail) }
    public static func skip(_ name: String, _ detail: String) -> SelfTestCheck { SelfTestCheck(name, .skip, detail) }
}
