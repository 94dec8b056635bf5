import Foundation
import Testing
import TestSupport

/// The service unit's hardening, as systemd itself scores it.
@Suite("systemd unit")
struct SystemdUnitTests {
    static let unit = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("systemd/lampd.service")

    @Test func exposureIsAtMostTwo() async throws {
        let analyze = "/usr/bin/systemd-analyze"
        try #require(FileManager.default.isExecutableFile(atPath: analyze),
                     "systemd-analyze is missing: run scripts/setup --test (it installs systemd)")
        let result = try await ChildProcess.run(analyze, ["security", "--offline=true", "--no-pager", Self.unit.path])
        let output = result.stdout + result.stderr
        // "→ Overall exposure level for lampd.service: 1.6 OK 🙂"
        let line = try #require(output.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(output)")
        let number = try #require(line.split(separator: " ").compactMap { Double($0) }.first, "\(line)")
        #expect(number <= 2.0, "\(line)")
    }

    @Test func unitDeclaresWhatTheDaemonRelies() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        for setting in ["Type=notify", "WatchdogSec=", "Restart=always", "User=lampd", "StateDirectory=lampd",
                        "RuntimeDirectory=lampd", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes", "ProtectSystem=strict"] {
            #expect(text.contains(setting), "lampd.service lacks \(setting)")
        }
    }
}
