import FoundationEssentials
import Logging
import Telemetry

/// Records every `.operate` control command — carried out or refused — as an
/// event of kind `audit.<command>` in the spool (so upstream sees it) and in
/// the log.
///
/// The record names the kernel-verified caller (uid, user name, pid) and,
/// marked "claimed", what the client says about the person behind it (SSH
/// user and address), which lampd cannot verify.
public struct ControlAuditTrail: Sendable {
    private let sink: any TelemetrySink
    private let timeSource: any TimeSource
    private let logger: Logger

    public init(sink: any TelemetrySink, timeSource: any TimeSource, logger: Logger) {
        self.sink = sink
        self.timeSource = timeSource
        self.logger = logger
    }

    /// Records one call of `command`; `outcome` is nil when it succeeded.
    public func record(command: String, arguments: JSONValue, caller: ControlCaller, refusal outcome: ControlError?) {
        let message = Self.message(command: command, arguments: arguments, caller: caller, outcome: outcome)
        sink.record(Event(
            kind: "audit.\(command)", severity: outcome?.code == "not-allowed" ? .warning : .info,
            time: timeSource.now(), message: message))
        var metadata: Logger.Metadata = [
            "command": "\(command)", "arguments": "\(Self.compact(arguments))",
            "uid": "\(caller.credentials.uid)", "pid": "\(caller.credentials.pid)",
            "user": "\(caller.userName ?? "-")", "result": "\(outcome.map { "\($0.code): \($0.message)" } ?? "ok")",
        ]
        if let user = caller.claimed?.user { metadata["claimed-user"] = "\(user)" }
        if let ssh = caller.claimed?.ssh { metadata["claimed-ssh"] = "\(ssh)" }
        logger.notice("audit", metadata: metadata)
    }

    /// The event's message, e.g. `lamp.set {"level":40} by root (uid 0, pid 812); claimed user alice from ssh 10.0.0.5 52311 22; ok`.
    static func message(command: String, arguments: JSONValue, caller: ControlCaller, outcome: ControlError?) -> String {
        var text = "\(command) \(compact(arguments)) by \(caller.userName ?? "uid \(caller.credentials.uid)") (uid \(caller.credentials.uid), pid \(caller.credentials.pid))"
        if let claimed = caller.claimed, claimed.user != nil || claimed.ssh != nil {
            text += "; claimed"
            if let user = claimed.user { text += " user \(user)" }
            if let ssh = claimed.ssh { text += " from ssh \(ssh)" }
        }
        text += outcome.map { "; refused: \($0.message)" } ?? "; ok"
        return text
    }

    static func compact(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
