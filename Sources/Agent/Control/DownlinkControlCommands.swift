import ControlProtocol
import Downlink
import FoundationEssentials

extension ControlCommandRegistry {
    /// `downlink.apply` and `downlink.status`.
    public mutating func registerDownlinkCommands(_ applier: DesiredStateApplier) {
        register(DownlinkApplyCommand(applier: applier))
        register(DownlinkStatusCommand(applier: applier))
    }
}

/// `downlink.apply`: feed a signed desired-state document to the board (until the board pulls
/// them itself). The audit trail records who applied it; a refusal answers `downlink.<reason>`.
struct DownlinkApplyCommand: ControlHandler {
    let applier: DesiredStateApplier
    var command: String { DownlinkApplyRequest.command }
    var permission: ControlPermission { .operate }
    var summary: String { "check a signed desired-state document (documentBase64) and apply it if every check passes" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        guard case .string(let text)? = call.arguments["documentBase64"] else {
            throw ControlError.badArguments(command, "argument \"documentBase64\" (the document's bytes in base64) is missing or not a string")
        }
        guard let data = Data(base64Encoded: text) else {
            throw ControlError.badArguments(command, "argument \"documentBase64\" is not base64")
        }
        let status: DownlinkStatus
        do {
            status = try await applier.apply(Array(data), via: "lampctl downlink apply by \(call.caller.displayName)")
        } catch {
            throw ControlError(code: error.code, message: "document refused (\(error.reason.rawValue)), the lamp is unchanged: \(error.message)")
        }
        return try JSONValue(encoding: status)
    }
}

/// `downlink.status`: the applied document of each role, when it was fetched and applied, the last outcome.
struct DownlinkStatusCommand: ControlHandler {
    let applier: DesiredStateApplier
    var command: String { DownlinkStatusRequest.command }
    var permission: ControlPermission { .read }
    var summary: String { "the city's desired state: applied versions, when fetched and applied, the last refusal" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        try JSONValue(encoding: await applier.status())
    }
}
