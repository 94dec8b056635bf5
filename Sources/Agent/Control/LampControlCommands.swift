import ControlProtocol
import FoundationEssentials
import Lighting
import Telemetry
import Clocks

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

/// The technician behind a call, as overrides name them: the verified user, or — when the
/// client claims another person (the technician behind sudo) — that label, marked as claimed.
private func technicianName(_ caller: ControlCaller) -> String {
    let verified = caller.userName ?? "uid \(caller.credentials.uid)"
    guard let claimed = caller.claimed?.user, !claimed.isEmpty, claimed != verified else { return verified }
    return "\(claimed) (claimed; \(caller.displayName))"
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

    func handle(_ call: ControlCall) async throws -> JSONValue {
        // Arguments first: a bad one is reported whether or not this board drives a lamp.
        guard let level = try call.arguments.integer("level", in: 0...100, command: command) else {
            throw ControlError.badArguments(command, "argument \"level\" is missing")
        }
        let duration = try call.arguments.seconds("forSeconds", in: ControlArgumentLimits.overrideSeconds, command: command)
        let ramp = try call.arguments.seconds("rampSeconds", in: ControlArgumentLimits.rampSeconds, command: command)
        let reason = try call.arguments.text("reason", maximumCharacters: ControlArgumentLimits.reasonCharacters, command: command)
        let lighting = try requireLighting(lighting)
        let technician = technicianName(call.caller)
        let request = OverrideRequest(
            levelPercent: Int(level),
            expiry: duration.map { lighting.now().date.addingTimeInterval($0.seconds) },
            rampSeconds: ramp?.seconds ?? 0,
            reason: reason,
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
        let removed = await lighting.clearOverride(by: "technician \(technicianName(call.caller))")
        return try JSONValue(encoding: LampClearResult(cleared: removed != nil, override: removed))
    }
}

/// `lamp.test`: a visible ramp 0 → 25 → 50 → 75 → 100 % and back off, then the program.
struct LampTestCommand: ControlHandler {
    let lighting: LightingService?
    var command: String { "lamp.test" }
    var permission: ControlPermission { .operate }
    var summary: String { "step the lamp through 0, 25, 50, 75, 100 % and off (stepSeconds each), then back to the program" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        // stepSeconds: how long each level is held; `LampTest.defaultStepSeconds` when absent.
        let step = try call.arguments.seconds("stepSeconds", in: LampTest.stepSecondsRange, command: command)
        let stepSeconds = step?.seconds ?? LampTest.defaultStepSeconds
        let lighting = try requireLighting(lighting)
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
