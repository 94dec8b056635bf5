/// The one shape of an error in lampd, lampctl and lamp-ingest: a stable code, a message a
/// technician can act on, and the cause kept.
///
/// Each area has one error type conforming to this protocol (STYLE.md rule 7): `TelemetryError`,
/// `UplinkError`, `GPIOError`, `ModbusError`, `ConfigurationError`, ... `code` is stable and
/// dotted (`spool.write-failed`, `gpio.permission-denied`, `modbus.timeout`): log lines,
/// `lampctl --json`, the control socket's answers and upstream reports match on it, so it never
/// changes meaning. `message` is the sentence a technician reads: what failed, where, and what to
/// check. `underlying` keeps the error this one wraps (an `SQLiteError`, an errno text, a CBOR
/// offset) for the log and for a developer.
public protocol ActionableError: Error, CustomStringConvertible, Sendable {
    /// Stable, dotted, machine-readable identifier.
    var code: String { get }
    /// What happened and what to do, in a technician's words.
    var message: String { get }
    /// The error this one wraps, if any.
    var underlying: (any Error & Sendable)? { get }
}

extension ActionableError {
    public var underlying: (any Error & Sendable)? { nil }
    /// The description, for errors whose description is already the technician's sentence.
    public var message: String { description }
}

/// Any error as code and message: an `ActionableError` as it is; anything else (an error from a
/// library that lampd does not wrap yet) as `error` and its description, so every error a user sees
/// has the same two fields.
public struct ErrorSummary: Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ error: any Error) {
        if let actionable = error as? any ActionableError {
            code = actionable.code
            message = actionable.message
        } else {
            code = "error"
            message = String(describing: error)
        }
    }

    public var description: String { "[\(code)] \(message)" }
}
