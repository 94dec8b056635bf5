import FoundationEssentials

/// `downlink.apply`: check a signed desired-state document (COSE_Sign1 bytes, base64) and apply
/// it if every check passes (docs/downlink.md). A refusal is an error with code
/// `downlink.<reason>` (e.g. `downlink.notNewer`); the lamp is unchanged then.
public struct DownlinkApplyRequest: ControlCommandRequest {
    public typealias Result = DownlinkStatus
    public static let command = "downlink.apply"
    /// Standard base64 of the document's bytes (at most 64 KiB before encoding).
    public var documentBase64: String
    public init(documentBase64: String) { self.documentBase64 = documentBase64 }
}

/// `downlink.status`: the applied documents and the last outcome.
public struct DownlinkStatusRequest: ControlCommandRequest {
    public typealias Result = DownlinkStatus
    public static let command = "downlink.status"
    public init() {}
}

/// The city's desired state on this board: one applied document per role, the last outcome.
public struct DownlinkStatus: Codable, Hashable, Sendable {
    /// One applied document.
    public struct Applied: Codable, Hashable, Sendable {
        /// `scheduler` or `operator`.
        public var role: String
        public var version: UInt64
        /// The signing key's kid (16 hex digits).
        public var kid: String
        public var issuedAt: Date
        public var expiresAt: Date
        /// When the board received it (`lampctl downlink apply`, or a pull).
        public var fetchedAt: Date
        /// When it was applied (stored and handed to the lamp).
        public var appliedAt: Date
        /// How it came: `lampctl downlink apply by alice`.
        public var via: String
        /// What it sets, e.g. `calendar city, 2 programs, default light state 100 %`.
        public var summary: String

        public init(role: String, version: UInt64, kid: String, issuedAt: Date, expiresAt: Date, fetchedAt: Date, appliedAt: Date,
                    via: String, summary: String) {
            self.role = role
            self.version = version
            self.kid = kid
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
            self.fetchedAt = fetchedAt
            self.appliedAt = appliedAt
            self.via = via
            self.summary = summary
        }
    }

    /// The last document received, applied or refused.
    public struct Outcome: Codable, Hashable, Sendable {
        /// `applied` or `refused`.
        public var outcome: String
        /// nil when the document could not be read far enough to know it.
        public var version: UInt64?
        public var role: String?
        /// The named refusal reason (`notNewer`, `badSignature` …); nil when applied.
        public var reason: String?
        public var message: String
        public var at: Date

        public init(outcome: String, version: UInt64?, role: String?, reason: String?, message: String, at: Date) {
            self.outcome = outcome
            self.version = version
            self.role = role
            self.reason = reason
            self.message = message
            self.at = at
        }
    }

    public var applied: [Applied]
    public var lastOutcome: Outcome?
    /// Where the pinned city keys are, how many were read, and what was wrong with the others.
    public var keysDirectory: String
    public var keysPinned: Int
    public var keyProblems: [String]

    public init(applied: [Applied], lastOutcome: Outcome?, keysDirectory: String, keysPinned: Int, keyProblems: [String]) {
        self.applied = applied
        self.lastOutcome = lastOutcome
        self.keysDirectory = keysDirectory
        self.keysPinned = keysPinned
        self.keyProblems = keyProblems
    }
}
