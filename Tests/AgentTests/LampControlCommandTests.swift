import ControlProtocol
import Foundation
import Lighting
import Telemetry
import Testing
@testable import Agent

/// The lamp's control commands against a lighting service on the simulated
/// board, with a synchronised test clock (the daemon test covers an
/// unsynchronised board).
@Suite("Control: lamp commands")
struct LampControlCommandTests {
    let alice = ControlCaller(
        credentials: PeerCredentials(uid: 1001, gid: 1001, pid: 42), userName: "alice",
        claimed: ClaimedOrigin(user: "alice", ssh: "192.0.2.7 52100 22", tool: "lampctl 0.1.0"))

    @Test func setExplainClear() async throws {
        let pole = try await Pole.make(clock: LightingTestClock("2025-12-21T20:00:00Z"))  // a Berlin winter evening
        await pole.service.restore()
        await pole.step()
        var registry = ControlCommandRegistry()
        registry.registerLampCommands(pole.service)
        let set = try #require(registry.handler(for: "lamp.set"))
        #expect(set.permission == .operate)

        let accepted = try await set.handle(ControlCall(
            arguments: .object(["level": .number(30), "forSeconds": .number(600), "reason": .string("cable work")]), caller: alice))
        #expect(accepted["levelPercent"]?.numberValue == 30)
        #expect(accepted["expiry"]?.stringValue == "2025-12-21T20:10:00Z")
        #expect(pole.events("lamp.override").first?.message.contains("technician alice") == true)

        let explain = try #require(registry.handler(for: "lamp.explain"))
        #expect(explain.permission == .read)
        let snapshot = try await explain.handle(ControlCall(arguments: .object([:]), caller: alice))
        #expect(snapshot["source"]?.stringValue == "override")
        #expect(snapshot["targetLevelPercent"]?.numberValue == 30)

        let clear = try #require(registry.handler(for: "lamp.clear"))
        let cleared = try await clear.handle(ControlCall(arguments: .object([:]), caller: alice))
        #expect(cleared["cleared"]?.boolValue == true)
        let after = try await explain.handle(ControlCall(arguments: .object([:]), caller: alice))
        #expect(after["source"]?.stringValue == "program")
    }

    @Test func badArgumentsAndNoLampAreClear() async throws {
        let pole = try await Pole.make(clock: LightingTestClock("2025-12-21T20:00:00Z"))
        var registry = ControlCommandRegistry()
        registry.registerLampCommands(pole.service)
        let set = try #require(registry.handler(for: "lamp.set"))
        await #expect(throws: ControlError.self) {
            try await set.handle(ControlCall(arguments: .object(["level": .number(150)]), caller: alice))
        }
        await #expect(throws: ControlError.self) {
            try await set.handle(ControlCall(arguments: .object(["level": .string("bright")]), caller: alice))
        }

        var bare = ControlCommandRegistry()
        bare.registerLampCommands(nil)
        do {
            _ = try await bare.handler(for: "lamp.explain")?.handle(ControlCall(arguments: .object([:]), caller: alice))
            Issue.record("expected lamp.not-configured")
        } catch let error as ControlError {
            #expect(error.code == "lamp.not-configured")
        }
    }
}
