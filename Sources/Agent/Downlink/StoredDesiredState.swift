import FoundationEssentials

/// One applied desired-state document as lampd keeps it in its state directory
/// (`desired-state-scheduler.json`, `desired-state-operator.json`): the signed bytes themselves,
/// so that they are verified again at every start, and when they came.
///
/// Written with `DurableFile` (temporary file, fsync, rename): a power cut leaves the old
/// document or the new one, whole.
struct StoredDesiredState: Codable, Hashable, Sendable {
    /// Standard base64 of the COSE_Sign1 bytes.
    var document: String
    var version: UInt64
    var fetchedAt: Date
    var appliedAt: Date
    var via: String

    static func fileName(role: String) -> String { "desired-state-\(role).json" }
}
