/// What `lampctl status` and `lampctl sync now` show of the uplink.
public struct UplinkStatus: Encodable, Sendable, Equatable {
    /// The receiver's URL.
    public var url: String
    /// `idle`, `sending`, `backing-off`, `rejected`, `cap-reached`, `no-key` or `storage-error`
    /// (`UplinkStateMachine.State`).
    public var state: String
    /// Last acknowledgement, ISO 8601 UTC.
    public var lastSuccessfulUpload: String?
    /// Last attempt (successful or not), ISO 8601 UTC.
    public var lastAttempt: String?
    /// Why the last attempt failed; nil after a success.
    public var lastError: String?
    /// Failed attempts since the last acknowledgement.
    public var consecutiveFailures: Int
    /// Last batch sequence acknowledged by the receiver.
    public var acknowledgedSequence: UInt64
    /// Sequence of the batch waiting for its acknowledgement.
    public var inFlightSequence: UInt64?
    /// Batches acknowledged since lampd started.
    public var batchesSent: Int
    /// Records acknowledged since lampd started.
    public var recordsSent: Int
    /// Bytes on the wire today (UTC), requests and answers.
    public var bytesToday: Int
    /// `max_bytes_per_day`, if set.
    public var maxBytesPerDay: Int?
    /// Key id signing new batches.
    public var kid: String?
}
