import Foundation
import Testing

@Suite("lampd's [control] section", .serialized)
struct ControlSectionTests {
    @Test func lampdListensWhereControlSocketSaysUnlessSocketOverrides() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString.prefix(8))")
        let configured = directory.appendingPathComponent("configured.sock").path
        // --socket (SimulatedDaemon passes one) wins over [control] socket.
        let daemon = try SimulatedDaemon(configuration: "[control]\nsocket = \"\(configured)\"\nread_group = \"root\"")
        defer { daemon.stop() }
        try await daemon.waitUntilAnswering()
        #expect(!FileManager.default.fileExists(atPath: configured))

        daemon.stop()

        // Without --socket, lampd listens where [control] socket says.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "[board]\nkind = \"simulated\"\nid = \"p\"\n[storage]\ndirectory = \"\(directory.path)/state\"\n[control]\nsocket = \"\(configured)\"\n"
            .write(toFile: directory.appendingPathComponent("lampd.toml").path, atomically: true, encoding: .utf8)
        let lampd = Process()
        lampd.executableURL = ProductProcess.productsDirectory.appendingPathComponent("lampd")
        lampd.arguments = ["--simulate", "--config", directory.appendingPathComponent("lampd.toml").path]
        lampd.standardOutput = FileHandle.nullDevice
        lampd.standardError = FileHandle.nullDevice
        try lampd.run()
        defer { kill(lampd.processIdentifier, SIGTERM); lampd.waitUntilExit() }
        var answered = false
        let deadline = ContinuousClock.now + .seconds(20)
        while !answered && ContinuousClock.now < deadline {
            answered = try await ProductProcess.run("lampctl", ["status", "--json", "--socket", configured]).exitCode != 3
            if !answered { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(answered, "lampd listens on [control] socket")
    }

    @Test func anUnknownGroupStopsLampdWithTheFilesLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("lampd.toml").path
        try "[board]\nkind = \"simulated\"\nid = \"p\"\n[storage]\ndirectory = \"\(directory.path)/state\"\n[control]\noperators_group = \"no-such-group-lampd-test\"\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let check = try await ProductProcess.run("lampctl", ["config", "check", file])
        #expect(check.exitCode == 2)
        #expect(check.stderr.contains("\(file):7:"), "\(check.stderr)")
        #expect(check.stderr.contains("group \"no-such-group-lampd-test\" does not exist"), "\(check.stderr)")
        let lampd = try await ProductProcess.run("lampd", ["--simulate", "--config", file])
        #expect(lampd.exitCode == 2, "no last good configuration to fall back on")
        #expect(lampd.stderr.contains("does not exist on this system"), "\(lampd.stderr)")
    }
}
