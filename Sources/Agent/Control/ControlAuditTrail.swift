import ControlProtocol
import LampdConfig
import FoundationEssentials
import Logging
import Synchronization
import Telemetry
import Clocks

/// Records every `.operate` control command — carried out or refused — as an
/// event of kind `audit.<command>` in the spool (so upstream sees it) and in
/// the log.
///
/// The record names the kernel-verified caller (uid, user name, pid) and,
/// marked "claimed", what the client says about the person behind it (SSH
/// user and address), which lampd cannot verify. Everything a client sent is
/// escaped and bounded (`ClientText`) before it reaches the event or the log.
///
/// Refusals for lack of permission (`not-allowed`) are folded per peer uid
/// (`RefusalWindows`): the first in a window is recorded in full, the others
/// only counted, and one `audit.refused` event with the count follows when the
/// window closes — so no caller can fill the spool by being refused.
public final class ControlAuditTrail: Sendable {
    /// Longest event message, in characters.
    static let maximumMessageCharacters = 1024
    /// Longest arguments text in a record, in characters.
    static let maximumArgumentsCharacters = 256

    private let sink: any TelemetrySink
    private let timeSource: any TimeSource
    private let logger: Logger
    /// How long refusals by one peer are folded into one record.
    public let refusalWindow: Duration
    private let refusals: Mutex<RefusalWindows>

    public init(sink: any TelemetrySink, timeSource: any TimeSource, logger: Logger, refusalWindow: Duration = .seconds(300)) {
        self.sink = sink
        self.timeSource = timeSource
        self.logger = logger
        self.refusalWindow = refusalWindow
        self.refusals = Mutex(RefusalWindows(windowNanoseconds: refusalWindow.nanoseconds))
    }

    /// Records one call of `command`; `outcome` is nil when it succeeded.
    public func record(command: String, arguments: JSONValue, caller: ControlCaller, refusal outcome: ControlError?) {
        let now = timeSource.now()
        if outcome?.code == "not-allowed" {
            let (inFull, closed) = refusals.withLock {
                $0.refuse(uid: caller.credentials.uid, caller: caller.displayName, command: command, at: now.bootNanoseconds)
            }
            recordSummaries(closed, at: now)
            guard inFull else { return }
        } else {
            closeExpiredWindows()
        }
        let message = Self.message(command: command, arguments: arguments, caller: caller, outcome: outcome)
        sink.record(Event(
            kind: "audit.\(command)", severity: outcome?.code == "not-allowed" ? .warning : .info,
            time: now, message: message))
        var metadata: Logger.Metadata = [
            "command": "\(command)", "arguments": "\(Self.compact(arguments))",
            "uid": "\(caller.credentials.uid)", "pid": "\(caller.credentials.pid)",
            "user": "\(caller.userName ?? "-")", "result": "\(outcome.map { "\($0.code): \($0.message)" } ?? "ok")",
        ]
        if let user = caller.claimed?.user { metadata["claimed-user"] = "\(user)" }
        if let ssh = caller.claimed?.ssh { metadata["claimed-ssh"] = "\(ssh)" }
        logger.notice("audit", metadata: metadata.mapValues { .string(Self.label("\($0)")) })
    }

    /// Writes the summaries of refusal windows whose time is up (the control server calls this
    /// a few times a second).
    public func closeExpiredWindows() {
        let now = timeSource.now()
        recordSummaries(refusals.withLock { $0.close(at: now.bootNanoseconds) }, at: now)
    }

    /// Writes the summaries of every open refusal window (at shutdown).
    public func closeAllWindows() {
        recordSummaries(refusals.withLock { $0.closeAll() }, at: timeSource.now())
    }

    private func recordSummaries(_ summaries: [RefusalWindows.Summary], at now: Timestamp) {
        for summary in summaries {
            let message = Self.message(summary, window: refusalWindow)
            sink.record(Event(kind: "audit.refused", severity: .warning, time: now, message: message))
            logger.notice("audit: refusals folded", metadata: [
                "uid": "\(summary.uid.map(String.init) ?? "-")", "count": "\(summary.count)", "message": "\(message)",
            ])
        }
    }

    /// The event's message, e.g. `lamp.set {"level":40} by root (uid 0, pid 812); claimed user alice from ssh 10.0.0.5 52311 22; ok`.
    static func message(command: String, arguments: JSONValue, caller: ControlCaller, outcome: ControlError?) -> String {
        var text = "\(command) \(compact(arguments)) by \(caller.userName ?? "uid \(caller.credentials.uid)") (uid \(caller.credentials.uid), pid \(caller.credentials.pid))"
        if let claimed = caller.claimed?.labelled, claimed.user != nil || claimed.ssh != nil {
            text += "; claimed"
            if let user = claimed.user { text += " user \(user)" }
            if let ssh = claimed.ssh { text += " from ssh \(ssh)" }
        }
        text += outcome.map { "; refused: \($0.message)" } ?? "; ok"
        return label(text)
    }

    /// A summary's message, e.g. `319 more refused calls by alice (uid 1001) within 300 s: lamp.set ×319 (the first was recorded in full)`.
    static func message(_ summary: RefusalWindows.Summary, window: Duration) -> String {
        let commands = summary.commands.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        let calls = summary.count == 1 ? "call" : "calls"
        return label("\(summary.count) more refused \(calls) by \(summary.caller) within \(DurationText.format(window)): \(commands) (the first was recorded in full)")
    }

    /// Compact JSON of `value`, cut to `maximumArgumentsCharacters`.
    static func compact(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ClientText.label(text, maximumCharacters: maximumArgumentsCharacters)
    }

    private static func label(_ text: String) -> String {
        ClientText.label(text, maximumCharacters: maximumMessageCharacters)
    }
}
