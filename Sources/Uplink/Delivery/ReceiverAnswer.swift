import FoundationEssentials

/// The receiver's positive answer to a batch, the JSON body of a `200` (docs/uplink.md §6):
/// `{"status": "stored", "device": "pole-0042", "kid": "21fe31dfa154a261", "sequence": 42, "hash": "0e18…"}`.
///
/// `lamp-ingest` encodes it; the board reads it through `DeliveryOutcome.classify`, which counts a
/// batch as delivered only when `sequence` and `hash` name that very batch.
public struct BatchAcknowledgement: Sendable, Equatable, Codable {
    /// `stored` (stored now) or `duplicate` (this exact batch was stored before).
    public enum Status: String, Sendable, Codable {
        case stored
        case duplicate
    }

    /// The `gap` object: `{"expected": 40, "received": 42}`, batches were missing before this one.
    public struct Gap: Sendable, Equatable, Codable {
        /// The sequence the receiver was waiting for.
        public var expected: UInt64
        /// The sequence of the batch it got.
        public var received: UInt64

        public init(expected: UInt64, received: UInt64) {
            self.expected = expected
            self.received = received
        }

        enum CodingKeys: String, CodingKey {
            case expected, received
        }
    }

    public var status: Status
    public var device: String
    /// The key id, 16 lower-case hex digits.
    public var kid: String
    public var sequence: UInt64
    /// The batch hash, 64 lower-case hex digits.
    public var hash: String
    /// Present when the batch was stored although batches were missing before it.
    public var gap: Gap?

    public init(status: Status, device: String, kid: String, sequence: UInt64, hash: String, gap: Gap? = nil) {
        self.status = status
        self.device = device
        self.kid = kid
        self.sequence = sequence
        self.hash = hash
        self.gap = gap
    }

    enum CodingKeys: String, CodingKey {
        case status, device, kid, sequence, hash, gap
    }
}

/// The receiver's refusal of a request, the JSON body of every error answer (docs/uplink.md §6):
/// `{"error": "bad-signature", "message": "what happened, what to do"}`.
public struct BatchRefusal: Sendable, Equatable, Codable {
    /// The stable code (`malformed-batch`, `unknown-key`, `busy`, …).
    public var error: String
    /// What happened and what to do, for a technician.
    public var message: String

    public init(error: String, message: String) {
        self.error = error
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case error, message
    }
}

/// An answer body as the board reads it: every field of `BatchAcknowledgement` and `BatchRefusal`
/// on its own and optional, so a wrong answer is described by what is wrong with it. Nil fields
/// are missing or of the wrong kind; `nil` as a whole when the body is not a JSON object.
struct ReceivedAnswer: Decodable {
    var status: String?
    var sequence: UInt64?
    var hash: String?
    /// Present when `gap` is an object; its numbers nil when not whole numbers ≥ 0.
    var gap: (expected: UInt64?, received: UInt64?)?
    var error: String?
    var message: String?

    /// Reads `body`; nil unless it is a JSON object.
    static func read(_ body: [UInt8]) -> ReceivedAnswer? {
        try? JSONDecoder().decode(ReceivedAnswer.self, from: Data(body))
    }

    init(from decoder: any Decoder) throws {
        let acknowledgement = try decoder.container(keyedBy: BatchAcknowledgement.CodingKeys.self)
        status = try? acknowledgement.decode(String.self, forKey: .status)
        sequence = Self.wholeNumber(acknowledgement, .sequence)
        hash = try? acknowledgement.decode(String.self, forKey: .hash)
        if let gap = try? acknowledgement.nestedContainer(keyedBy: BatchAcknowledgement.Gap.CodingKeys.self, forKey: .gap) {
            self.gap = (Self.wholeNumber(gap, .expected), Self.wholeNumber(gap, .received))
        }
        let refusal = try decoder.container(keyedBy: BatchRefusal.CodingKeys.self)
        error = try? refusal.decode(String.self, forKey: .error)
        message = try? refusal.decode(String.self, forKey: .message)
    }

    /// A whole number ≥ 0 (written `42`, `42.0` or `4.2e1`), nil for anything else.
    private static func wholeNumber<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) -> UInt64? {
        if let number = try? container.decode(UInt64.self, forKey: key) { return number }
        return (try? container.decode(Double.self, forKey: key)).flatMap { UInt64(exactly: $0) }
    }
}
