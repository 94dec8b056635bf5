import Foundation
import Testing
import TestSupport

/// lampd with the cabinet's contacts on the simulated board's Modbus DI module
/// (`[modbus.traffic_box]`), seen through `lampctl status` (issue 13).
@Suite("lampctl status with the cabinet on Modbus", .serialized)
struct CabinetModbusStatusTests {
    /// The standard simulated pole, its `[gpio.traffic_box]` swapped for the DI module.
    static func withModbusCabinet<T>(arguments: [String] = [], _ body: (SimulatedDaemon) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-cabinet-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pole = SimulatedDaemon.poleConfiguration(stateDirectory: directory.appendingPathComponent("state").path)
        let text = pole.replacingOccurrences(
            of: "[gpio.traffic_box]\nchip = \"simulated\"",
            with: "[modbus.traffic_box]\nbus = \"bus\"\nunit = 2\nprofile = \"di-8\"\npoll = \"100ms\"")
        #expect(text != pole)
        let config = directory.appendingPathComponent("lampd.toml")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let socket = directory.appendingPathComponent("control.sock").path
        return try await withLampd(arguments: ["--simulate", "--config", config.path, "--socket", socket] + arguments,
                                   socket: socket, directory: directory, body)
    }

    static func reading(_ status: [String: Any], _ channel: String) -> [String: Any]? {
        (status["readings"] as? [[String: Any]] ?? []).first { $0["channel"] as? String == channel }
    }

    @Test func theModulesContactsShowAsContacts() async throws {
        try await Self.withModbusCabinet { daemon in
            try await daemon.waitFor("the cabinet's contacts read over Modbus") { status in
                Self.reading(status, "cabinet.on-battery") != nil
            }
            let text = try await ChildProcess.run(product: "lampctl", ["status", "--socket", daemon.socket])
            let contacts = text.stdout.components(separatedBy: "Contacts").last ?? ""
            #expect(contacts.contains("cabinet.door                  false"), "\(text.stdout)")
            #expect(contacts.contains("cabinet.mains                 true"), "\(text.stdout)")
            #expect(!text.stdout.contains("cabinet.module-missing"))
            try await daemon.waitUntilPolled("traffic_box")
            let selftest = try await ChildProcess.run(product: "lampctl", ["selftest", "--socket", daemon.socket])
            #expect(selftest.stdout.contains("PASS  modbus.traffic_box  unit 2 on bus bus answered"), "\(selftest.stdout)")
        }
    }

    @Test func aSilentModuleIsUnknownInStatusWithOneAlarm() async throws {
        try await Self.withModbusCabinet(arguments: ["--simulate-fault", "cabinet-module-silent"]) { daemon in
            try await daemon.waitFor("the contacts to read unknown") { status in
                Self.reading(status, "cabinet.door")?["value"] as? String == "unknown"
            }
            let text = try await ChildProcess.run(product: "lampctl", ["status", "--socket", daemon.socket])
            let contacts = text.stdout.components(separatedBy: "Contacts").last ?? ""
            let door = contacts.split(separator: "\n").first { $0.contains("cabinet.door") } ?? ""
            #expect(door.contains("unknown") && door.contains("uncertain"), "\(text.stdout)")
            #expect(text.stdout.contains("cabinet contact module (unit 2 on bus \"bus\""), "\(text.stdout)")
            try await daemon.waitUntilPolled("traffic_box")
            let selftest = try await ChildProcess.run(product: "lampctl", ["selftest", "--socket", daemon.socket])
            #expect(selftest.stdout.contains("FAIL  modbus.traffic_box  unit 2 on bus bus did not answer"), "\(selftest.stdout)")
            let events = try await ChildProcess.run(product: "lampctl", ["events", "--json", "--socket", daemon.socket])
            #expect(events.stdout.components(separatedBy: #""kind":"cabinet.module-missing""#).count == 2, "\(events.stdout)")
            #expect(!events.stdout.contains("cabinet.door.closed"))
        }
    }

    @Test func theSimulatedCabinetFlagIsChecked() async throws {
        let unknown = try await ChildProcess.run(product: "lampd", ["--simulate", "--simulate-cabinet", "pigeon"])
        #expect(unknown.exitCode != 0)
        #expect(unknown.stderr.contains("--simulate-cabinet pigeon is not known; use gpio or modbus"), "\(unknown.stderr)")
        let withFile = try await ChildProcess.run(product: "lampd", ["--simulate", "--config", "/nonexistent.toml", "--simulate-cabinet", "modbus"])
        #expect(withFile.exitCode != 0)
        #expect(withFile.stderr.contains("--simulate-cabinet needs --simulate and no --config"), "\(withFile.stderr)")
    }
}
