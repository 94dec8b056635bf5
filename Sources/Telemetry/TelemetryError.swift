import SystemSupport
/// The one error type of the Telemetry area: model validation and the spool.
///
/// `code` is stable (log lines, `lampctl --json`, upstream reports may match on it);
/// `message` tells a technician what happened and what to do. `underlying` keeps the
/// original error: for the spool usually an `SQLiteError`, with SQLite's result code and message
/// (also reachable as `sqlite`).
public struct TelemetryError: ActionableError {
    /// Stable machine-readable error codes.
    public enum Code: String, Sendable, Hashable {
        /// A channel name breaks the SenML name rules (RFC 8428 §4.5.1).
        case invalidChannelName = "telemetry.invalid-channel-name"
        /// A unit is neither a SenML primary unit nor a known RFC 8798 secondary unit.
        case unknownUnit = "telemetry.unknown-unit"
        /// The spool file could not be opened or created (permissions, disk, path).
        case spoolOpenFailed = "spool.open-failed"
        /// A group commit failed; the records of that group are not durable.
        case spoolWriteFailed = "spool.write-failed"
        /// A read (pending records, statistics) failed.
        case spoolReadFailed = "spool.read-failed"
        /// A corrupt spool file could not be moved aside; nothing was deleted.
        case spoolMoveAsideFailed = "spool.move-aside-failed"
        /// The spool was closed (its `run()` returned); records are no longer accepted.
        case spoolClosed = "spool.closed"
        /// Too many records wait in memory for their group commit (the disk is too slow or stuck).
        case spoolBacklogFull = "spool.backlog-full"
    }

    /// Stable identifier of what went wrong.
    public var reason: Code

    /// `reason` as its stable text (`ActionableError`).
    public var code: String { reason.rawValue }
    /// What happened and what to do, in a technician's words.
    public var message: String
    /// The error this one wraps, if any.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.reason = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying {
            return "[\(code)] \(message) (\(underlying))"
        }
        return "[\(code)] \(message)"
    }
}

extension TelemetryError {
    /// The SQLite failure behind a spool error (`underlying`), with its result code and message; nil if
    /// the error did not come from SQLite.
    public var sqlite: SQLiteError? {
        underlying as? SQLiteError
    }
}
