@testable import LampdConfig
import Foundation
import Testing
@testable import Agent

@Suite("[control] configuration")
struct ControlConfigurationTests {
    let board = "[board]\nkind = \"live\"\nid = \"p\"\n"

    @Test func withoutTheSectionTheDefaultsApply() throws {
        let control = try LampdConfiguration.parse(board).control
        #expect(control == ControlConfiguration(socket: nil, readGroup: "lampd", operatorsGroup: "lampd-operators"))
    }

    @Test func socketAndGroupsAreRead() throws {
        let control = try LampdConfiguration.parse(board + """
            [control]
            socket = "/run/lampd/other.sock"
            read_group = "root"
            operators_group = "root"
            """).control
        #expect(control.socket == "/run/lampd/other.sock")
        #expect(control.policy.readGroup == "root" && control.policy.operatorsGroup == "root")
    }

    @Test func anUnknownGroupARelativeSocketAndATypoAreErrorsWithTheirPlace() {
        do {
            _ = try LampdConfiguration.parse(board + """
                [control]
                socket = "control.sock"
                read_group = "no-such-group-lampd-test"
                operator_group = "root"
                """, file: "c.toml")
            Issue.record("expected errors")
        } catch {
            let text = error.errors.map(\.description)
            #expect(text.contains { $0.hasPrefix("c.toml:5:") && $0.contains("not an absolute path") }, "\(text)")
            #expect(text.contains {
                $0.hasPrefix("c.toml:6:") && $0.contains("control.read_group")
                    && $0.contains("group \"no-such-group-lampd-test\" does not exist on this system")
            }, "\(text)")
            #expect(text.contains { $0.contains("control.operator_group") && $0.contains("did you mean \"operators_group\"") }, "\(text)")
        }
    }

    @Test func lampctlReadsTheSocketLeniently() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString.prefix(8)).toml").path
        defer { unlink(file) }
        try (board + "[control]\nsocket = \"/tmp/x.sock\"\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ControlConfiguration.socket(configuredIn: file) == "/tmp/x.sock")
        try "not toml [".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ControlConfiguration.socket(configuredIn: file) == nil)
        #expect(ControlConfiguration.socket(configuredIn: "/nonexistent.toml") == nil)
    }
}
