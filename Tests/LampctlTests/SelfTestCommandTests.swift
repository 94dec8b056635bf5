import Foundation
import Testing
import TestSupport

@Suite("lampctl selftest", .serialized)
struct SelfTestCommandTests {
    /// Runs `lampctl selftest` against `daemon`; returns the process and the lines by check name.
    func selfTest(_ daemon: SimulatedDaemon, socket: String? = nil) async throws -> (result: ChildProcess.Output, lines: [String: String]) {
        let result = try await ChildProcess.run(product: "lampctl", ["selftest", "--config", daemon.configurationFile, "--socket", socket ?? daemon.socket])
        var lines: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            if words.count >= 2, ["PASS", "FAIL", "SKIP"].contains(words[0]) { lines[String(words[1])] = String(line) }
        }
        return (result, lines)
    }

    /// Waits until the daemon's self-test has polled the Modbus units (no SKIP for them).
    func waitUntilPolled(_ daemon: SimulatedDaemon) async throws -> (result: ChildProcess.Output, lines: [String: String]) {
        try await daemon.waitUntilPolled("meter")
        return try await selfTest(daemon)
    }

    @Test func aHealthySimulatedBoardPasses() async throws {
        // Started as from a shell (no NOTIFY_SOCKET): the systemd watchdog check is skipped.
        try await withSimulatedDaemon(underSystemd: false) { daemon in
            try await daemon.waitUntilSampled()
            let key = try await ChildProcess.run(product: "lampctl", ["identity", "init", "--state-dir", daemon.stateDirectory])
            #expect(key.exitCode == 0, "\(key.stderr)")

            let (result, lines) = try await waitUntilPolled(daemon)
            for name in ["config", "device-key", "state-dir", "disk", "daemon", "gpio", "lamp-output", "modbus.meter", "meter", "loops"] {
                #expect(lines[name]?.hasPrefix("PASS") == true, "\(name): \(lines[name] ?? "missing")\n\(result.stdout)")
            }
            // Not run by systemd, no [watchdog], no uplink in this lampd: skipped, not failed.
            for name in ["watchdog.systemd", "watchdog.hardware", "uplink"] {
                #expect(lines[name]?.hasPrefix("SKIP") == true, "\(name): \(lines[name] ?? "missing")")
            }
            // The clock is this machine's: synchronised or not, the exit code follows it.
            let clock = try #require(lines["clock"])
            #expect(result.exitCode == (clock.hasPrefix("PASS") ? 0 : 1), "\(result.stdout)")
            #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(result.stdout)")
            #expect(!result.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")

            let json = try await ChildProcess.run(product: "lampctl", ["selftest", "--json", "--config", daemon.configurationFile, "--socket", daemon.socket])
            let report = try #require(try json.jsonObject())
            let checks = try #require(report["checks"] as? [[String: Any]])
            #expect(checks.contains { $0["name"] as? String == "modbus.meter" && $0["outcome"] as? String == "pass" })
            #expect(report["ok"] as? Bool == (json.exitCode == 0))
        }
    }

    @Test func aDeadMeterAndAnOpenKeyFileAreNamedFailures() async throws {
        try await withSimulatedDaemon(arguments: ["--simulate-fault", "meter-silent"]) { daemon in
            try await daemon.waitUntilAnswering()
            _ = try await ChildProcess.run(product: "lampctl", ["identity", "init", "--state-dir", daemon.stateDirectory])
            let keyFile = daemon.stateDirectory + "/device-key"
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
            // Edited after lampd started: not what it runs on.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: daemon.configurationFile))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("\n# edited\n".utf8))
            try handle.close()

            let (result, lines) = try await waitUntilPolled(daemon)
            #expect(result.exitCode == 1)
            #expect(lines["modbus.meter"]?.hasPrefix("FAIL  modbus.meter        unit 1 on bus bus did not answer") == true, "\(result.stdout)")
            #expect(lines["device-key"]?.hasPrefix("FAIL") == true, "\(result.stdout)")
            #expect(result.stdout.contains("chmod 600"), "the fix is named: \(result.stdout)")
            #expect(lines["config"]?.contains("edited since lampd started") == true, "\(result.stdout)")
            #expect(lines["daemon"]?.hasPrefix("PASS") == true)
            #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(result.stdout)")
        }
    }

    @Test func mainsLostIsAnImplausibleMeter() async throws {
        try await withSimulatedDaemon(arguments: ["--simulate-fault", "mains-lost"]) { daemon in
            try await daemon.waitUntilSampled()
            let (result, lines) = try await waitUntilPolled(daemon)
            #expect(result.exitCode == 1)
            #expect(lines["meter"]?.hasPrefix("FAIL") == true, "\(result.stdout)")
            #expect(result.stdout.contains("meter.voltage 0 V outside 180–260"), "the full reason follows the list: \(result.stdout)")
        }
    }

    @Test func withoutConfigItChecksWhatTheRunningLampdUses() async throws {
        // A demo lampd started with its own configuration and state directory (as `--simulate`):
        // without --config, lampctl asks lampd which file and state directory it runs with.
        try await withSimulatedDaemon(underSystemd: false) { daemon in
            try await daemon.waitUntilSampled()
            let key = try await ChildProcess.run(product: "lampctl", ["identity", "init", "--state-dir", daemon.stateDirectory])
            #expect(key.exitCode == 0, "\(key.stderr)")
            let result = try await ChildProcess.run(product: "lampctl", ["selftest", "--socket", daemon.socket])
            #expect(!result.stdout.contains("/etc/lampd"), "\(result.stdout)")
            for name in ["config", "device-key", "state-dir", "disk", "daemon"] {
                #expect(result.stdout.contains("PASS  \(name) "), "\(name)\n\(result.stdout)")
            }
            #expect(result.stdout.contains(daemon.stateDirectory) || result.stdout.contains("writable"), "\(result.stdout)")
        }
    }

    @Test func withoutTheDaemonTheDaemonCheckFails() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("selftest-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("state"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("lampd.toml").path
        try """
            [board]
            kind = "live"
            id = "test-pole"
            [storage]
            directory = "\(directory.appendingPathComponent("state").path)"
            [[modbus.buses]]
            name = "lan"
            tcp = "127.0.0.1:1"
            [[modbus.devices]]
            name = "meter"
            bus = "lan"
            unit = 1
            profile = "eastron-sdm120"
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(product: "lampctl", ["selftest", "--config", config, "--socket", directory.path + "/none.sock"])
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("FAIL  daemon"), "\(result.stdout)")
        #expect(result.stdout.contains("lampd is not running"), "\(result.stdout)")
        #expect(result.stdout.contains("lampctl identity init"), "a missing key says how to make one: \(result.stdout)")
        #expect(result.stdout.contains("PASS  state-dir"), "\(result.stdout)")
        // lampd does not hold the bus: lampctl asks the unit itself, and nobody listens there: a refused connection is "could not be reached", not "did not answer".
        #expect(result.stdout.contains("FAIL  modbus.meter        unit 1 on bus lan could not be reached: 127.0.0.1:1 r"), "\(result.stdout)")
    }

    @Test func withoutTheDaemonLampctlProbesTheHardwareItself() async throws {
        try await withSimulatedDaemon { daemon in
            try await daemon.waitUntilSampled()
            try await daemon.stop()
            let (result, lines) = try await selfTest(daemon)
            #expect(lines["daemon"]?.hasPrefix("FAIL") == true, "\(result.stdout)")
            #expect(lines["gpio"]?.hasPrefix("PASS  gpio                5 input lines claimed and read by lampctl") == true, "\(result.stdout)")
            #expect(lines["modbus.meter"]?.hasPrefix("PASS  modbus.meter        unit 1 on bus bus answered lampctl") == true, "\(result.stdout)")
            #expect(result.exitCode == 1)
        }
    }

    @Test func aFedHardwareWatchdogPassesAndIsDisarmedAtStop() async throws {
        let device = FileManager.default.temporaryDirectory.appendingPathComponent("watchdog-\(UUID().uuidString.prefix(8))").path
        try Data().write(to: URL(fileURLWithPath: device))  // a plain file: no ioctl, fed by writes
        defer { unlink(device) }
        try await withSimulatedDaemon(configuration: "[watchdog]\ndevice = \"\(device)\"\ntimeout = \"3s\"") { daemon in
            // Fed once: the self-test says so (lampd logs only the arming).
            try await daemon.waitFor("the hardware watchdog's first feed", asking: "selftest") { result in
                (result["checks"] as? [[String: Any]] ?? []).contains {
                    $0["name"] as? String == "watchdog.hardware" && ($0["detail"] as? String ?? "").contains(", fed ")
                }
            }
            let (result, lines) = try await selfTest(daemon)
            #expect(lines["watchdog.hardware"]?.contains("armed, driver's timeout, fed") == true, "\(result.stdout)")
            let fed = FileManager.default.contents(atPath: device) ?? Data()
            #expect(fed.count >= 1 && fed.allSatisfy { $0 == 0 }, "\(Array(fed))")
            try await daemon.stop()
            #expect(FileManager.default.contents(atPath: device)?.last == UInt8(ascii: "V"), "a clean stop disarms it")
        }
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func withoutTheRightsChecksAreSkippedNotFailed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("selftest-\(UUID().uuidString.prefix(8))")
        let state = directory.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: state.path)  // like /var/lib/lampd
        let config = directory.appendingPathComponent("lampd.toml").path
        try "[board]\nkind = \"simulated\"\nid = \"p\"\n[storage]\ndirectory = \"\(state.path)\"\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: config)
        let lampctl = Products.path("lampctl")
        // As nobody (uid 65534), the way a technician outside group lampd runs it.
        let stdout = try await ChildProcess.run("/usr/bin/setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups", lampctl, "selftest",
            "--config", config, "--socket", directory.path + "/none.sock"]).stdout
        #expect(stdout.contains("PASS  config              valid (run with sudo"), "\(stdout)")
        #expect(stdout.contains("SKIP  device-key"), "\(stdout)")
        #expect(stdout.contains("SKIP  state-dir"), "\(stdout)")
    }

    @Test func anUnknownSimulatedFaultIsAUsageError() async throws {
        let result = try await ChildProcess.run(product: "lampd", ["--simulate", "--simulate-fault", "gremlins"])
        #expect(result.exitCode != 0)
        #expect(result.stderr.contains("--simulate-fault gremlins is not known"), "\(result.stderr)")
    }
}
