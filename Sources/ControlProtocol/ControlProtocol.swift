import SystemSupport
import FoundationEssentials

/// The control socket's wire protocol, version 1 (docs/control-protocol.md).
///
/// One JSON object per line in each direction (UTF-8, `\n`-terminated); a
/// client may send several requests on one connection, one at a time, and
/// gets one response line per request, in order.
public enum ControlProtocol {
    /// The protocol version this build speaks (`"v"` in every message).
    public static let version = 1
    /// The largest integer a JSON number (a Double) holds exactly: 2^53 − 1; sequence numbers
    /// and event serials stay below it.
    public static let largestExactInteger: Int64 = 9_007_199_254_740_991
    /// Default path of the control socket on a board.
    public static let defaultSocketPath = "/run/lampd/control.sock"
    /// Longest request line accepted, in bytes; a longer one closes the connection.
    public static let maximumRequestBytes = 64 * 1024
}

/// What a client claims about the person behind it: forwarded by lampctl
/// from its environment (`SUDO_USER`/`USER`, `SSH_CLIENT`/`SSH_CONNECTION`).
///
/// Not verified by lampd — recorded in the audit trail marked "claimed"
/// next to the kernel-verified uid from SO_PEERCRED.
public struct ClaimedOrigin: Codable, Hashable, Sendable {
    /// The login name the client says it acts for (e.g. the technician behind sudo).
    public var user: String?
    /// The SSH client address as the client's environment has it (`SSH_CLIENT`, "ip port port").
    public var ssh: String?
    /// The client program and version, e.g. `lampctl 0.1.0`.
    public var tool: String?

    public init(user: String? = nil, ssh: String? = nil, tool: String? = nil) {
        self.user = user
        self.ssh = ssh
        self.tool = tool
    }
}

/// One request line: `{"v":1,"id":7,"command":"status","arguments":{…}}`.
public struct ControlRequest: Codable, Hashable, Sendable {
    /// Protocol version the client speaks; lampd answers `unsupported-version` to any but `ControlProtocol.version`.
    public var v: Int
    /// Chosen by the client (number or string) and echoed in the response; optional.
    public var id: JSONValue?
    /// Dotted command name, e.g. `status`, `spool.export`, `lamp.set`.
    public var command: String
    /// The command's arguments: a JSON object; missing means `{}`.
    public var arguments: JSONValue?
    /// Who the client says it acts for (unverified; see `ClaimedOrigin`).
    public var client: ClaimedOrigin?

    public init(v: Int = ControlProtocol.version, id: JSONValue? = nil, command: String, arguments: JSONValue? = nil, client: ClaimedOrigin? = nil) {
        self.v = v
        self.id = id
        self.command = command
        self.arguments = arguments
        self.client = client
    }
}

/// One response line: `{"v":1,"id":7,"ok":true,"result":{…}}` or
/// `{"v":1,"id":7,"ok":false,"error":{"code":"…","message":"…"}}`.
public struct ControlResponse: Codable, Hashable, Sendable {
    /// Protocol version of the answer (`ControlProtocol.version`).
    public var v: Int
    /// The request's `id`, or null when the request could not be read.
    public var id: JSONValue?
    /// True when the command succeeded; then `result` is set, else `error`.
    public var ok: Bool
    /// The command's result (its `ControlCommandRequest.Result`, as JSON) when `ok`.
    public var result: JSONValue?
    /// Why the command was not carried out, when not `ok`.
    public var error: ControlError?

    public init(id: JSONValue?, result: JSONValue) {
        self.v = ControlProtocol.version
        self.id = id
        self.ok = true
        self.result = result
        self.error = nil
    }

    public init(id: JSONValue?, error: ControlError) {
        self.v = ControlProtocol.version
        self.id = id
        self.ok = false
        self.result = nil
        self.error = error
    }

    enum CodingKeys: String, CodingKey { case v, id, ok, result, error }

    /// Writes `"id": null` when the id is unknown (the protocol promises the key).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(v, forKey: .v)
        try container.encode(id ?? .null, forKey: .id)
        try container.encode(ok, forKey: .ok)
        try container.encodeIfPresent(result, forKey: .result)
        try container.encodeIfPresent(error, forKey: .error)
    }

    /// The response as one line of JSON, without the trailing newline.
    public func line() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue tree cannot fail; keep a valid line even if it did.
        return (try? encoder.encode(self)) ?? Data(#"{"error":{"code":"internal","message":"response could not be encoded"},"id":null,"ok":false,"v":1}"#.utf8)
    }
}

/// Why a control command was not carried out, with a stable `code` scripts
/// match on and a `message` a technician can act on.
public struct ControlError: ActionableError, Codable, Hashable {
    /// Stable identifier, e.g. `not-allowed` (the list is in docs/control-protocol.md).
    public var code: String
    /// What went wrong and what to do, in a technician's words.
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The line was not a JSON object of the request shape.
    public static func malformedRequest(_ detail: String) -> ControlError {
        ControlError(code: "malformed-request", message: "the request is not valid protocol JSON: \(detail) — send one JSON object per line, e.g. {\"v\":1,\"id\":1,\"command\":\"ping\"}")
    }
    /// The request was longer than `ControlProtocol.maximumRequestBytes`.
    public static let requestTooLarge = ControlError(
        code: "request-too-large",
        message: "the request is longer than \(ControlProtocol.maximumRequestBytes / 1024) KiB; the connection is closed")
    /// The client speaks another protocol version.
    public static func unsupportedVersion(_ version: Int) -> ControlError {
        ControlError(code: "unsupported-version", message: "protocol version \(version) is not supported; this lampd speaks version \(ControlProtocol.version) — use the lampctl installed with this lampd")
    }
    /// No handler for that command.
    public static func unknownCommand(_ command: String, known: [String]) -> ControlError {
        ControlError(code: "unknown-command", message: "unknown command \"\(command)\"; this lampd knows: \(known.joined(separator: ", "))")
    }
    /// The arguments did not fit the command.
    public static func badArguments(_ command: String, _ detail: String) -> ControlError {
        ControlError(code: "bad-arguments", message: "\(command): \(detail)")
    }
    /// Too many clients are connected: `limit` slots were open to this caller, `reserved` more
    /// are kept for root and the operators group.
    public static func busy(limit: Int, reserved: Int = 0) -> ControlError {
        let kept = reserved > 0 ? " (\(reserved) more are kept for root and the operators group: sudo lampctl … gets one)" : ""
        return ControlError(code: "busy", message: "lampd is already serving \(limit) control connections\(kept); try again in a moment")
    }
}
