import ControlProtocol
import FoundationEssentials

extension ControlCommandRegistry {
    /// `uplink.status` and `sync.now`; without `[uplink]` both answer with a clear error.
    public mutating func registerUplinkCommands(_ uplink: UplinkService?) {
        register(UplinkStatusCommand(uplink: uplink))
        register(SyncNowCommand(uplink: uplink))
    }
}

private func requireUplink(_ uplink: UplinkService?) throws(ControlError) -> UplinkService {
    guard let uplink else {
        throw ControlError(code: "uplink.not-configured",
                           message: "this lampd sends nothing upstream: there is no [uplink] section in its configuration (docs/configuration.md)")
    }
    return uplink
}

/// `uplink.status`: where batches go, the last upload, the last error, today's bytes.
struct UplinkStatusCommand: ControlHandler {
    let uplink: UplinkService?
    var command: String { "uplink.status" }
    var permission: ControlPermission { .read }
    var summary: String { "the uplink: receiver, last upload, last error, bytes today" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        try JSONValue(encoding: try requireUplink(uplink).status())
    }
}

/// `sync.now`: send the spool upstream now and wait (up to `timeoutSeconds`, default 30) until it
/// is drained or an attempt failed. Ignores the batch window, the backoff and the daily byte cap.
struct SyncNowCommand: ControlHandler {
    let uplink: UplinkService?
    var command: String { "sync.now" }
    var permission: ControlPermission { .operate }
    var summary: String { "send everything pending upstream now (timeoutSeconds, default 30)" }

    static let defaultTimeout = Duration.seconds(30)
    /// What the server waits beyond the requested timeout for the answer to come back.
    static let answerMargin = Duration.seconds(3)

    func timeout(_ arguments: JSONValue) throws(ControlError) -> Duration {
        try arguments.seconds("timeoutSeconds", in: ControlArgumentLimits.syncTimeoutSeconds, command: command) ?? Self.defaultTimeout
    }

    /// The wait the client asked for (up to 600 s), not the server's 10 s default.
    func timeLimit(for arguments: JSONValue) -> Duration? {
        ((try? timeout(arguments)) ?? Self.defaultTimeout) + Self.answerMargin
    }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        let timeout = try timeout(call.arguments)
        let uplink = try requireUplink(uplink)
        let status = await uplink.syncNow(timeout: timeout)
        return try JSONValue(encoding: status)
    }
}
