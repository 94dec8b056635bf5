import Foundation
import Testing
import TestSupport

/// `[uplink] url` with a port above 65535: AsyncHTTPClient traps on it when the first batch
/// leaves, so the configuration check refuses it and lampd does not start on it.
@Suite("[uplink] url the HTTP client would trap on", .serialized)
struct UplinkURLRefusalTests {
    @Test func aPortAbove65535IsRefusedByTheCheckAndByLampd() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uplink-url-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("lampd.toml").path
        let state = directory.appendingPathComponent("state").path
        // With a device key and batch_interval 1 s, an accepted URL would send the first batch (and
        // trap: "Not enough bits to represent the passed value", exit 132) within seconds. An IP
        // address, not a name: a name fails DNS before AsyncHTTPClient converts the port.
        let initKey = try await ChildProcess.run(product: "lampctl", ["identity", "init", "--state-dir", state])
        #expect(initKey.exitCode == 0, "\(initKey.stderr)")
        try "[board]\nkind = \"simulated\"\nid = \"p\"\n[storage]\ndirectory = \"\(state)\"\n[uplink]\nbatch_interval = \"1s\"\nurl = \"https://192.0.2.1:99999/\"\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let check = try await ChildProcess.run(product: "lampctl", ["config", "check", file])
        #expect(check.exitCode == 2, "\(check.stdout)\(check.stderr)")
        #expect(check.stderr.contains("\(file):8:7") && check.stderr.contains("1…65535"), "\(check.stderr)")
        let lampd = try await ChildProcess.run(product: "lampd", ["--simulate", "--config", file])
        #expect(lampd.exitCode == 2, "no last good configuration to fall back on: \(lampd.stderr)")
        #expect(lampd.stderr.contains("uplink.url") && lampd.stderr.contains("1…65535"), "\(lampd.stderr)")
    }
}
