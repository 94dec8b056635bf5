import ControlProtocol
import Foundation
@testable import LampdConfig
import Telemetry
import Testing
@testable import Agent

/// Users and groups made up for the test: alice reads, olga operates, mallory neither.
struct FakeUserDirectory: UserDirectory {
    var users: [UInt32: String] = [0: "root", 998: "lampd", 1001: "alice", 1002: "olga", 1003: "mallory"]
    var groups: [String: UInt32] = ["lampd": 998, "lampd-operators": 997, "users": 100]
    var memberships: [UInt32: Set<UInt32>] = [998: [998], 1001: [100, 998], 1002: [100, 997], 1003: [100]]

    func userName(uid: UInt32) -> String? { users[uid] }
    func groupID(named name: String) -> UInt32? { groups[name] }
    func groupIDs(ofUID uid: UInt32) -> Set<UInt32> { memberships[uid] ?? [] }
}

@Suite("Control policy")
struct ControlPolicyTests {
    let policy = ControlPolicy(daemonUID: 998)
    let directory = FakeUserDirectory()

    func allowed(_ permission: ControlPermission, uid: UInt32, gid: UInt32 = 100) -> Bool {
        (try? policy.authorise(permission, credentials: PeerCredentials(uid: uid, gid: gid, pid: 42), directory: directory)) != nil
    }

    @Test func whoMayDoWhat() {
        #expect(allowed(.read, uid: 0) && allowed(.operate, uid: 0))
        #expect(allowed(.read, uid: 998, gid: 998) && !allowed(.operate, uid: 998, gid: 998))
        #expect(allowed(.read, uid: 1001) && !allowed(.operate, uid: 1001))
        #expect(allowed(.read, uid: 1002) && allowed(.operate, uid: 1002))
        #expect(!allowed(.read, uid: 1003) && !allowed(.operate, uid: 1003))
        // The process's own gid counts (sg lampd-operators …).
        #expect(allowed(.operate, uid: 1003, gid: 997))
        // A uid without a passwd entry is judged by its gid alone.
        #expect(!allowed(.read, uid: 4242) && allowed(.read, uid: 4242, gid: 998))
    }

    @Test func aRefusalNamesTheUserAndTheGroup() {
        #expect {
            try policy.authorise(.operate, credentials: PeerCredentials(uid: 1001, gid: 100, pid: 42), directory: directory)
        } throws: { error in
            let error = error as? ControlError
            return error?.code == "not-allowed"
                && error?.message.hasPrefix("not allowed: user alice (uid 1001) is not in group lampd-operators") == true
        }
        #expect {
            try policy.authorise(.read, credentials: PeerCredentials(uid: 4242, gid: 100, pid: 42), directory: directory)
        } throws: { error in
            (error as? ControlError)?.message.hasPrefix("not allowed: uid 4242 is not in group lampd,") == true
        }
        var noOperators = directory
        noOperators.groups["lampd-operators"] = nil
        #expect {
            try policy.authorise(.operate, credentials: PeerCredentials(uid: 1001, gid: 100, pid: 42), directory: noOperators)
        } throws: { error in
            (error as? ControlError)?.message.contains("group lampd-operators does not exist on this board") == true
        }
    }

    /// An operate command for tests: counts its calls.
    struct PokeCommand: ControlHandler {
        var command: String { "test.poke" }
        var permission: ControlPermission { .operate }
        var summary: String { "poke" }
        func handle(_ call: ControlCall) async throws -> JSONValue { .object(["poked": .bool(true)]) }
    }

    @Test func operateCommandsAreAuditedWithTheCallersIdentity() async throws {
        let bed = try await ControlTestBed(directory: directory, policy: policy, extra: [PokeCommand()])
        defer { bed.finish() }
        let line = #"{"v":1,"id":3,"command":"test.poke","arguments":{"hard":true},"client":{"user":"alice","ssh":"10.0.0.5 52311 22","tool":"lampctl 0.1.0"}}"#

        let done = await bed.server.respond(to: Data(line.utf8), from: PeerCredentials(uid: 1002, gid: 100, pid: 812))
        #expect(done.ok && done.result?["poked"] == .bool(true))
        let refused = await bed.server.respond(to: Data(line.utf8), from: PeerCredentials(uid: 1001, gid: 100, pid: 813))
        #expect(refused.error?.code == "not-allowed")
        #expect(refused.error?.message.hasPrefix("not allowed: user alice (uid 1001) is not in group lampd-operators") == true)
        // Read commands are not audited.
        _ = await bed.server.respond(to: Data(#"{"v":1,"command":"ping"}"#.utf8), from: PeerCredentials(uid: 1002, gid: 100, pid: 812))

        let audits = bed.recorder.events.filter { $0.kind.hasPrefix("audit.") }
        try #require(audits.count == 2)
        #expect(audits[0].kind == "audit.test.poke" && audits[0].severity == .info)
        #expect(audits[0].message == #"test.poke {"hard":true} by olga (uid 1002, pid 812); claimed user alice from ssh 10.0.0.5 52311 22; ok"#)
        #expect(audits[1].severity == .warning)
        #expect(audits[1].message.hasPrefix(#"test.poke {"hard":true} by alice (uid 1001, pid 813); claimed user alice from ssh 10.0.0.5 52311 22; refused: not allowed"#))
        #expect(audits[0].time == bed.time.now())
    }
}
