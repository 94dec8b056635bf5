import Foundation
import Testing
import TestSupport

@Suite("lampd's [control] section", .serialized)
struct ControlSectionTests {
    @Test func lampdListensWhereControlSocketSaysUnlessSocketOverrides() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString.prefix(8))")
        let configured = directory.appendingPathComponent("configured.sock").path
        // --socket (withSimulatedDaemon passes one) wins over [control] socket.
        try await withSimulatedDaemon(configuration: "[control]\nsocket = \"\(configured)\"\nread_group = \"root\"") { daemon in
            try await daemon.waitUntilAnswering()
            #expect(!FileManager.default.fileExists(atPath: configured))
        }

        // Without --socket, lampd listens where [control] socket says.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "[board]\nkind = \"simulated\"\nid = \"p\"\n[storage]\ndirectory = \"\(directory.path)/state\"\n[control]\nsocket = \"\(configured)\"\n"
            .write(toFile: directory.appendingPathComponent("lampd.toml").path, atomically: true, encoding: .utf8)
        // READY and lampd's "control socket ready" came: one lampctl must be answered.
        try await withLampd(arguments: ["--simulate", "--config", directory.appendingPathComponent("lampd.toml").path],
                            socket: configured, directory: directory) { _ in
            let answered = try await ChildProcess.run(product: "lampctl", ["status", "--json", "--socket", configured]).exitCode != 3
            #expect(answered, "lampd listens on [control] socket")
        }
    }

    @Test func anUnknownGroupStopsLampdWithTheFilesLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("lampd.toml").path
        try "[board]\nkind = \"simulated\"\nid = \"p\"\n[storage]\ndirectory = \"\(directory.path)/state\"\n[control]\noperators_group = \"no-such-group-lampd-test\"\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let check = try await ChildProcess.run(product: "lampctl", ["config", "check", file])
        #expect(check.exitCode == 2)
        #expect(check.stderr.contains("\(file):7:"), "\(check.stderr)")
        #expect(check.stderr.contains("group \"no-such-group-lampd-test\" does not exist"), "\(check.stderr)")
        let lampd = try await ChildProcess.run(product: "lampd", ["--simulate", "--config", file])
        #expect(lampd.exitCode == 2, "no last good configuration to fall back on")
        #expect(lampd.stderr.contains("does not exist on this system"), "\(lampd.stderr)")
    }
}
