import Foundation

/// What a publish changes on the boards (docs/downlink.md §9). The role of the key that must sign
/// it follows from it: an override (or clearing it) is an operator's, a schedule or default level
/// a scheduler's; a board refuses a document signed by the wrong role for what it changes.
public enum PublishedContent: Sendable, Equatable {
    /// A city override: `levelPercent` (0–100) from `startSeconds` until `expirySeconds` (Unix time).
    case override(levelPercent: Int, startSeconds: Int64, expirySeconds: Int64, reason: String?)
    /// No override: an operator document that clears the one the board has.
    case clearOverride
    /// A schedule, the JSON `{"calendar": …, "programs": […]}` of docs/downlink.md, and/or the
    /// default light state in percent, and/or the remote configuration, the JSON
    /// `{"batchIntervalSeconds": …, "maxBytesPerDay": …, "samplingPeriodSeconds": {…}}`.
    /// One scheduler document holds all three: what it leaves out, the board no longer has.
    case schedule(json: [UInt8]?, defaultLevelPercent: Int?, configurationJSON: [UInt8]? = nil)

    /// `operator` or `scheduler`: the key that signs it, and the role its versions are counted in.
    public var role: String {
        switch self {
        case .override, .clearOverride: "operator"
        case .schedule: "scheduler"
        }
    }

    /// One line for the audit log and the logs (never key material, never the whole schedule).
    public var summary: String {
        switch self {
        case .override(let level, let start, let expiry, let reason):
            "override \(level) % from \(Self.time(start)) until \(Self.time(expiry))\(reason.map { " (\($0.prefix(256)))" } ?? "")"
        case .clearOverride:
            "clear the override"
        case .schedule(let json, let level, let configuration):
            [json.map { "schedule (\($0.count) bytes of JSON)" }, level.map { "default level \($0) %" },
             configuration.map { "configuration \(String(decoding: $0.prefix(200), as: UTF8.self))" }].compactMap { $0 }.joined(separator: ", ")
        }
    }

    /// Unix seconds as ISO 8601 UTC.
    public static func time(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }
}

/// One publish: the same content for every device in `devices`, one signed document each.
public struct PublishOrder: Sendable, Equatable {
    public var devices: [String]
    public var content: PublishedContent
    /// How long a board may still apply it, in hours (1–8784).
    public var validHours: Int
    /// The version for every device; nil: each device's last version of the role + 1.
    public var version: UInt64?

    public static let validHoursRange = 1...(24 * 366)

    public init(devices: [String], content: PublishedContent, validHours: Int = 168, version: UInt64? = nil) {
        self.devices = devices
        self.content = content
        self.validHours = validHours
        self.version = version
    }
}

/// One document a publish stored.
public struct PublishedVersion: Sendable, Codable, Equatable {
    public var device: String
    public var role: String
    public var version: UInt64
    /// The signed document's size.
    public var bytes: Int
    /// The signing key's id (hex), never the key.
    public var keyID: String

    public init(device: String, role: String, version: UInt64, bytes: Int, keyID: String) {
        self.device = device
        self.role = role
        self.version = version
        self.bytes = bytes
        self.keyID = keyID
    }
}

/// Signs and stores desired-state documents with the city's role keys: `lamp-ingest publish` and
/// the live view's publish forms and API both go through the one implementation (lamp-ingest's
/// `CityPublisher`), so a document means the same whichever way it was made.
public protocol DesiredStatePublisher: Sendable {
    /// The roles (`operator`, `scheduler`) it holds a key for.
    var roles: Set<String> { get }
    /// Signs one document per device and stores each in the published-state store, in order; stops
    /// at the first failure (the ones before it stay published: the result says which).
    func publish(_ order: PublishOrder) async -> PublishResult
}

/// What a publish did: the documents stored, and the error that stopped it, if any.
public struct PublishResult: Sendable {
    public var published: [PublishedVersion]
    public var error: IngestError?

    public init(published: [PublishedVersion], error: IngestError? = nil) {
        self.published = published
        self.error = error
    }
}

/// One published version's status, as `lamp-ingest downlink-status --json` prints it and the live
/// view's `GET /api/desired-state/status` answers: published → fetched → applied / refused / superseded.
public struct PublishedStatus: Sendable, Codable, Equatable {
    public var device: String
    public var role: String
    public var version: UInt64
    public var status: String
    public var publishedAt: Date
    public var fetchedAt: Date?
    public var outcomeAt: Date?

    public init(_ document: PublishedDocument) {
        device = document.device
        role = document.role
        version = document.version
        status = document.status
        publishedAt = document.publishedAt
        fetchedAt = document.fetchedAt
        outcomeAt = document.outcomeAt
    }

    /// JSON with ISO 8601 times and `null` for a time not yet known (the documented contract).
    public static func json(_ rows: [PublishedStatus]) -> Data {
        let objects = rows.map { row -> [String: Any] in
            func time(_ date: Date?) -> Any { date.map { $0.formatted(.iso8601) } ?? NSNull() }
            return ["device": row.device, "role": row.role, "version": row.version, "status": row.status,
                    "publishedAt": time(row.publishedAt), "fetchedAt": time(row.fetchedAt), "outcomeAt": time(row.outcomeAt)]
        }
        return (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("[]".utf8)
    }
}
