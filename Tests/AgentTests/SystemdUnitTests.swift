@testable import LampdConfig
import Foundation
import Testing
import TestSupport

@testable import Agent

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
                        "RuntimeDirectory=lampd", "Environment=MALLOC_ARENA_MAX=1", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes", "ProtectSystem=strict"] {
            #expect(text.contains(setting), "lampd.service lacks \(setting)")
        }
    }

    // MARK: The PWM drop-in (lampd-pwm-dropin)

    static let repository = unit.deletingLastPathComponent().deletingLastPathComponent()
    static let dropInScript = repository.appendingPathComponent("systemd/lampd-pwm-dropin")
    static let example = repository.appendingPathComponent("deploy/examples/raspberry-pi.toml")

    /// Runs a command to its end; stdout and stderr together.
    static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(path, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        return (result.exitCode, result.stdout + result.stderr)
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-unit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Writes `configuration`, runs the script on it and returns its status, output and the drop-in (nil when none).
    static func dropIn(for configuration: String, in directory: URL) async throws -> (status: Int32, output: String, dropIn: String?) {
        let config = directory.appendingPathComponent("lampd.toml")
        let dropIn = directory.appendingPathComponent("lampd.service.d/50-lampd-pwm.conf")
        try configuration.write(to: config, atomically: true, encoding: .utf8)
        let result = try await run("/bin/sh", [dropInScript.path, "--config", config.path, "--output", dropIn.path])
        return (result.status, result.output, try? String(contentsOf: dropIn, encoding: .utf8))
    }

    static func readWritePaths(_ dropIn: String?) -> [String] {
        (dropIn ?? "").split(separator: "\n").filter { $0.hasPrefix("ReadWritePaths=") }.map(String.init)
    }

    /// The example board's configuration with its `[lighting.pwm]` chip written in each way TOML allows.
    static func pwmVariants() throws -> [String] {
        let text = try String(contentsOf: example, encoding: .utf8)
        let table = "[lighting.pwm]\nchip = 0\nchannel = 1\n"
        let rest = "period = \"1ms\"\nmin_level = 10\ninverted = true"
        try #require(text.contains(table) && text.contains("[lighting]\noutput = \"relay+pwm\"\n"))
        let withoutTable = text.replacingOccurrences(of: table, with: "").replacingOccurrences(of: rest, with: "")
        return [
            text,
            text.replacingOccurrences(of: table, with: "[ lighting . \"pwm\" ]   # the dim input\nchannel = 1\n\"chip\" = 3 # second chip\n"),
            withoutTable.replacingOccurrences(of: "[lighting]\n", with: "[lighting]\npwm.chip = 2\npwm.channel = 1\n"),
            withoutTable.replacingOccurrences(of: "[lighting]\n", with: "[lighting]\npwm = { channel = 1, chip = 7, inverted = true }\n"),
        ]
    }

    @Test func theDropInAllowsExactlyThePWMChipTheConfigurationUses() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var chips: Set<Int> = []
        for text in try Self.pwmVariants() {
            // The real parser decides which chip lampd will open; the script must agree.
            let configuration = try LampdConfiguration.parse(text)
            guard case .relayPWM(_, let pwm)? = configuration.lighting?.output else {
                Issue.record("the variant does not parse as relay+pwm:\n\(text)"); continue
            }
            chips.insert(pwm.chip)
            let result = try await Self.dropIn(for: text, in: directory)
            #expect(result.status == 0, "\(result.output)")
            #expect(Self.readWritePaths(result.dropIn) == ["ReadWritePaths=-/sys/class/pwm/pwmchip\(pwm.chip)"], "\(result.output)\n\(result.dropIn ?? "no drop-in")")
        }
        #expect(chips == [0, 3, 2, 7], "each variant names its own chip")
    }

    @Test func withoutPWMThereIsNoDropInAndAnUnreadableChipFailsLoudly() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let example = try String(contentsOf: Self.example, encoding: .utf8)
        #expect(try await Self.dropIn(for: example, in: directory).dropIn != nil)
        // A relay-only lamp: the drop-in written before goes.
        let relayOnly = try await Self.dropIn(for: "[board]\nkind = \"live\"\n[lighting]\noutput = \"relay\" # no dimming\n", in: directory)
        #expect(relayOnly.status == 0 && relayOnly.dropIn == nil, "\(relayOnly.output)")
        // A chip the script cannot read must not be silently skipped (lampd could not dim).
        for chip in ["0x1", "\"pwmchip0\"", "256", "-1 ; ReadWritePaths=/"] {
            let bad = try await Self.dropIn(for: "[lighting]\noutput = \"relay+pwm\"\n[lighting.pwm]\nchip = \(chip)\nchannel = 0\n", in: directory)
            #expect(bad.status == 3, "chip = \(chip): \(bad.output)")
            #expect(bad.dropIn == nil, "chip = \(chip) wrote \(bad.dropIn ?? "")")
        }
        let unread = try await Self.dropIn(for: "[lighting]\noutput = \"relay+pwm\"\n", in: directory)
        #expect(unread.status == 3 && unread.output.contains("no chip could be read"), "\(unread.output)")
    }

    /// The unit with the example's drop-in, as systemd loads it: it verifies, the drop-in is
    /// read and adds exactly the PWM chip, and the exposure stays at most 2.
    @Test func theUnitWithItsDropInVerifiesAndStaysHardened() async throws {
        let analyze = "/usr/bin/systemd-analyze"
        try #require(FileManager.default.isExecutableFile(atPath: analyze),
                     "systemd-analyze is missing: run scripts/setup --test (it installs systemd)")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // /usr/bin/lampd is not installed on a build machine; verify checks ExecStart exists.
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        #expect(text.contains("\nProtectKernelTunables=yes\n"), "the unit must keep /sys read-only")
        try text.replacingOccurrences(of: "ExecStart=/usr/bin/lampd ", with: "ExecStart=/bin/true ")
            .write(to: directory.appendingPathComponent("lampd.service"), atomically: true, encoding: .utf8)
        let written = try await Self.dropIn(for: try String(contentsOf: Self.example, encoding: .utf8), in: directory)
        #expect(written.status == 0, "\(written.output)")

        let unit = directory.appendingPathComponent("lampd.service").path
        let verify = try await Self.run(analyze, ["verify", unit], environment: ["SYSTEMD_LOG_LEVEL": "debug"])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("DropIn Path: \(directory.path)/lampd.service.d/50-lampd-pwm.conf"), "\(verify.output)")
        #expect(verify.output.contains("ReadWritePaths: /var/lib/lampd /run/lampd -/sys/class/pwm/pwmchip0\n"), "\(verify.output)")
        // What systemd says about our two files (the debug log also has lines about this machine).
        // (Not "Failed to parse system call": a name in @system-service that this machine's libseccomp does not know.)
        let aboutOurFiles = verify.output.split(separator: "\n")
            .filter { $0.hasPrefix(directory.path) && !$0.contains("Failed to parse system call") }
        #expect(aboutOurFiles.isEmpty, "systemd-analyze verify complains:\n\(aboutOurFiles.joined(separator: "\n"))")

        let security = try await Self.run(analyze, ["security", "--offline=true", "--no-pager", unit])
        let line = try #require(security.output.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(security.output)")
        let number = try #require(line.split(separator: " ").compactMap { Double($0) }.first, "\(line)")
        #expect(number <= 2.0, "\(line)")
    }
}
