/// What `lampctl status` and `lampctl sync now` show of the uplink.
public struct UplinkStatus: Codable, Sendable, Hashable {
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

    public init(url: String, state: String, lastSuccessfulUpload: String? = nil, lastAttempt: String? = nil,
                lastError: String? = nil, consecutiveFailures: Int, acknowledgedSequence: UInt64,
                inFlightSequence: UInt64? = nil, batchesSent: Int, recordsSent: Int, bytesToday: Int,
                maxBytesPerDay: Int? = nil, kid: String? = nil) {
        self.url = url
        self.state = state
        self.lastSuccessfulUpload = lastSuccessfulUpload
        self.lastAttempt = lastAttempt
        self.lastError = lastError
        self.consecutiveFailures = consecutiveFailures
        self.acknowledgedSequence = acknowledgedSequence
        self.inFlightSequence = inFlightSequence
        self.batchesSent = batchesSent
        self.recordsSent = recordsSent
        self.bytesToday = bytesToday
        self.maxBytesPerDay = maxBytesPerDay
        self.kid = kid
    }
}
