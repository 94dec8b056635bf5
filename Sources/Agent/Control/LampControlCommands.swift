import FoundationEssentials
import Lighting
import Telemetry

extension ControlCommandRegistry {
    /// Adds the lamp's commands: `lamp.explain` (read), `lamp.set`,
    /// `lamp.clear` and `lamp.test` (operate). Without a `[lighting]` section they answer
    /// `lamp.not-configured`.
    public mutating func registerLampCommands(_ lighting: LightingService?) {
        register(LampExplainCommand(lighting: lighting))
        register(LampSetCommand(lighting: lighting))
        register(LampClearCommand(lighting: lighting))
        register(LampTestCommand(lighting: lighting))
    }
}

private func requireLighting(_ lighting: LightingService?) throws(ControlError) -> LightingService {
    guard let lighting else {
        throw ControlError(code: "lamp.not-configured",
                           message: "this board drives no lamp: its configuration has no [lighting] section")
    }
    return lighting
}

/// The technician behind a call, as overrides name them: the claimed login, else the verified user.
private func technicianName(_ caller: ControlCaller) -> String {
    caller.claimed?.user ?? caller.userName ?? "uid \(caller.credentials.uid)"
}

/// `lamp.explain`: the level, why, and what comes next.
struct LampExplainCommand: ControlHandler {
    let lighting: LightingService?
    var command: String { "lamp.explain" }
    var permission: ControlPermission { .read }
    var summary: String { "the lamp's level, why it is at that level, and the next switch points" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        let lighting = try requireLighting(lighting)
        guard let snapshot = await lighting.explain() else {
            throw ControlError(code: "lamp.starting", message: "the lighting service has not decided yet; try again in a few seconds")
        }
        return try JSONValue(encoding: snapshot)
    }
}

/// `lamp.set`: a technician's override with an expiry, so a forgotten
/// override cannot leave a street dark.
struct LampSetCommand: ControlHandler {
    let lighting: LightingService?
    var command: String { "lamp.set" }
    var permission: ControlPermission { .operate }
    var summary: String { "override the lamp's level for a while (level 0-100, forSeconds, rampSeconds, reason)" }

    struct Arguments: Decodable {
        var level: Int
        /// How long the override lasts; the configured default when absent.
        var forSeconds: Double?
        var rampSeconds: Double?
        var reason: String?
    }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        let lighting = try requireLighting(lighting)
        let arguments = try call.arguments(Arguments.self, command: command)
        guard (0...100).contains(arguments.level) else {
            throw ControlError.badArguments(command, "level \(arguments.level) is not 0 to 100")
        }
        if let seconds = arguments.forSeconds, !(seconds > 0 && seconds.isFinite) {
            throw ControlError.badArguments(command, "forSeconds must be a positive number of seconds")
        }
        let technician = technicianName(call.caller)
        let request = OverrideRequest(
            levelPercent: arguments.level,
            expiry: arguments.forSeconds.map { lighting.now().date.addingTimeInterval($0) },
            rampSeconds: arguments.rampSeconds ?? 0,
            reason: arguments.reason,
            source: .technician(technician))
        let accepted: LightOverride
        do {
            accepted = try await lighting.applyOverride(request)
        } catch {
            throw ControlError(code: "lamp.\(error.code)", message: error.description)
        }
        return try JSONValue(encoding: accepted)
    }
}

/// `lamp.clear`: back to the program.
struct LampClearCommand: ControlHandler {
    let lighting: LightingService?
    var command: String { "lamp.clear" }
    var permission: ControlPermission { .operate }
    var summary: String { "remove the override: the schedule decides again" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        let lighting = try requireLighting(lighting)
        let who = call.caller.claimed?.user ?? call.caller.displayName
        guard let removed = await lighting.clearOverride(by: "technician \(who)") else { return .object(["cleared": .bool(false)]) }
        return .object(["cleared": .bool(true), "override": try JSONValue(encoding: removed)])
    }
}

/// `lamp.test`: a visible ramp 0 → 25 → 50 → 75 → 100 % and back off, then the program.
struct LampTestCommand: ControlHandler {
    let lighting: LightingService?
    var command: String { "lamp.test" }
    var permission: ControlPermission { .operate }
    var summary: String { "step the lamp through 0, 25, 50, 75, 100 % and off (stepSeconds each), then back to the program" }

    struct Arguments: Decodable {
        /// How long each level is held; `LampTest.defaultStepSeconds` when absent.
        var stepSeconds: Double?
    }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        let lighting = try requireLighting(lighting)
        let arguments = try call.arguments(Arguments.self, command: command)
        let stepSeconds = arguments.stepSeconds ?? LampTest.defaultStepSeconds
        guard LampTest.stepSecondsRange.contains(stepSeconds) else {
            throw ControlError.badArguments(command, String(printf: "stepSeconds must be %.0f to %.0f",
                                                            LampTest.stepSecondsRange.lowerBound, LampTest.stepSecondsRange.upperBound))
        }
        let technician = technicianName(call.caller)
        let test: LampTest
        do {
            test = try await lighting.startLampTest(stepSeconds: stepSeconds, technician: technician)
        } catch {
            throw ControlError(code: "lamp.\(error.code)", message: error.description)
        }
        return try JSONValue(encoding: test)
    }
}
