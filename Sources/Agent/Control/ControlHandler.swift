import ControlProtocol
import FoundationEssentials

/// What a control command may do, and so who may run it (see `ControlPolicy`).
public enum ControlPermission: String, Codable, Hashable, Sendable {
    /// Looks only: root, lampd's own user and the read group (default `lampd`).
    case read
    /// Changes the lamp or the spool: root and the operators group (default
    /// `lampd-operators`). Every call is recorded in the audit trail.
    case operate
}

/// The caller of a control command: kernel-verified credentials plus what
/// the client claims about the person behind it.
public struct ControlCaller: Hashable, Sendable {
    /// uid, gid and pid from SO_PEERCRED (verified by the kernel).
    public var credentials: PeerCredentials
    /// Login name of `credentials.uid`, nil if the uid has no passwd entry.
    public var userName: String?
    /// Unverified claims forwarded by the client (SSH user and address), as labels: escaped
    /// and bounded (`ClaimedOrigin.labelled`), so they are safe in a log line or an event.
    public var claimed: ClaimedOrigin?

    public init(credentials: PeerCredentials, userName: String?, claimed: ClaimedOrigin?) {
        self.credentials = credentials
        self.userName = userName
        self.claimed = claimed?.labelled
    }

    /// "alice (uid 1001)" or "uid 1001".
    public var displayName: String {
        if let userName { return "\(userName) (uid \(credentials.uid))" }
        return "uid \(credentials.uid)"
    }
}

/// One command call as a handler sees it.
public struct ControlCall: Sendable {
    /// The command's arguments: always a JSON object (`{}` when the client sent none).
    public var arguments: JSONValue
    /// Who called.
    public var caller: ControlCaller

    public init(arguments: JSONValue, caller: ControlCaller) {
        self.arguments = arguments
        self.caller = caller
    }
}

/// One control command: a name, the permission it needs, and what it does.
///
/// To add a command (e.g. `lamp.set`), write a type conforming to this
/// protocol that captures what it needs (the lighting service, …) in its
/// initialiser, and register it in `LampdAgent.build` with
/// `controlCommands.register(_:)`. The server checks the caller's
/// permission before `handle` runs and writes the audit record for
/// `.operate` commands after it returns, so a handler does neither.
public protocol ControlHandler: Sendable {
    /// The dotted command name clients send, e.g. `lamp.set`.
    var command: String { get }
    /// Who may run it; `.operate` commands are audited.
    var permission: ControlPermission { get }
    /// One line for docs and `unknown-command` errors, e.g. "set a manual override with expiry".
    var summary: String { get }
    /// Runs the command. Throw `ControlError` for answers a technician should
    /// read (bad arguments, a refused override); any other error becomes
    /// `internal` with its description. Must answer within a few hundred
    /// milliseconds: lampctl waits at most a few seconds.
    func handle(_ call: ControlCall) async throws -> JSONValue
    /// How long the server waits for `handle` with these `arguments` before answering
    /// `timeout`; nil (the default) means the server's `commandTimeLimit` (10 s). A command
    /// that waits on purpose (`sync.now`) returns its own wait plus a margin.
    func timeLimit(for arguments: JSONValue) -> Duration?
}

extension ControlHandler {
    public func timeLimit(for arguments: JSONValue) -> Duration? { nil }
}

/// The commands a control server answers, by name.
public struct ControlCommandRegistry: Sendable {
    private var handlers: [String: any ControlHandler] = [:]

    public init() {}

    /// Adds a command. A second handler for the same name replaces the first.
    public mutating func register(_ handler: any ControlHandler) {
        handlers[handler.command] = handler
    }

    /// The handler for `command`, if any.
    public func handler(for command: String) -> (any ControlHandler)? { handlers[command] }

    /// Every command name, sorted.
    public var commands: [String] { handlers.keys.sorted() }
}
