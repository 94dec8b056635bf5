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

    struct Arguments: Decodable {
        var timeoutSeconds: Double?
    }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        let uplink = try requireUplink(uplink)
        let arguments = try call.arguments(Arguments.self, command: command)
        let timeout = arguments.timeoutSeconds ?? 30
        guard timeout > 0, timeout <= 600 else {
            throw ControlError.badArguments(command, "timeoutSeconds must be more than 0 and at most 600")
        }
        let status = await uplink.syncNow(timeout: .milliseconds(Int64(timeout * 1000)))
        return try JSONValue(encoding: status)
    }
}
