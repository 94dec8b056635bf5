import SystemSupport

/// Why a board refused a desired-state document: one named reason each (docs/downlink.md,
/// "Refusals"). A refused document never changes the lamp.
public struct DesiredStateRefusal: ActionableError, Hashable {
    /// The named reasons. `rawValue` is what the board reports upstream in its
    /// `downlink.refused` event and what `lampctl --json` shows.
    public enum Reason: String, Hashable, Sendable, Codable, CaseIterable {
        /// Not a COSE_Sign1 desired state lampd can read: bad CBOR, missing or unknown keys,
        /// numbers out of range, too large, an invalid schedule.
        case malformed
        /// Signed by a key that is not pinned on this board.
        case unknownKey
        /// The signature does not match: the document was altered.
        case badSignature
        /// The signing key's role may not set what the document sets (an operator key and a schedule).
        case wrongRole
        /// The document is for another board.
        case otherDevice
        /// Its version is not above the version applied for its role (a replay, or out of order).
        case notNewer
        /// The document, or its override, expired before it could be applied.
        case expired
        /// The override lasts longer than this board's `[downlink] max_override_duration`.
        case overrideTooLong
        /// The board's clock is not synchronised, so expiry cannot be checked: retried once it is.
        case clockUnsynchronised
        /// The remote configuration names something this board does not have (a polling period
        /// for a device it does not poll): the document is not applied, not even in part.
        case unknownSetting
    }

    public var reason: Reason
    /// What is wrong and what to do.
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// `downlink.<reason>`.
    public var code: String { "downlink.\(reason.rawValue)" }
    public var description: String { "[\(code)] \(message)" }
}
