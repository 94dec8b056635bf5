import Foundation
import Testing
import TestSupport

/// Runs the built `lampctl gpio …` as a technician would.
@Suite("lampctl gpio")
struct GPIOCommandTests {
    @Test("list --chip simulated shows the standard board in 80 columns")
    func listSimulated() async throws {
        let result = try await ChildProcess.run(product: "lampctl", ["gpio", "list", "--chip", "simulated"])
        #expect(result.exitCode == 0)
        #expect(result.stdout.contains("simulated [lampd simulated board] 7 lines"))
        for name in ["LAMP_RELAY", "CABINET_DOOR", "FLASH_MODE", "CONTROLLER_FAULT", "MAINS_PRESENT", "ON_BATTERY", "PHOTOCELL"] {
            #expect(result.stdout.contains(name))
        }
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }

    @Test("list --json gives chips with their lines")
    func listJSON() async throws {
        let result = try await ChildProcess.run(product: "lampctl", ["gpio", "list", "--chip", "simulated", "--json"])
        #expect(result.exitCode == 0)
        let json = try #require(try result.jsonObject())
        let chips = try #require(json["chips"] as? [[String: Any]])
        let lines = try #require(chips.first?["lines"] as? [[String: Any]])
        #expect(chips.first?["name"] as? String == "simulated")
        #expect(lines.count == 7)
        #expect(lines[0]["name"] as? String == "LAMP_RELAY")
        #expect(lines[0]["direction"] as? String == "output")
        #expect(lines[4]["offset"] as? Int == 4)
    }

    @Test("get reads a simulated line by name and by offset, with active-low")
    func get() async throws {
        let byName = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "simulated", "MAINS_PRESENT"])
        #expect(byName.exitCode == 0)
        #expect(byName.stdout == "simulated:4 (MAINS_PRESENT) = 1\n")

        let inverted = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "simulated", "4", "--active-low", "--json"])
        #expect(inverted.exitCode == 0)
        let json = try #require(try inverted.jsonObject())
        #expect(json["value"] as? Int == 0)
        #expect((json["line"] as? [String: Any])?["name"] as? String == "MAINS_PRESENT")
    }

    @Test("set drives a simulated line for the hold time, then releases it")
    func set() async throws {
        let result = try await ChildProcess.run(product: "lampctl", ["gpio", "set", "--chip", "simulated", "LAMP_RELAY", "1", "--hold", "100ms"])
        #expect(result.exitCode == 0)
        #expect(result.stdout.contains("simulated:0 (LAMP_RELAY) = 1, holding for 100ms"))
        #expect(result.stdout.contains("released simulated:0 (LAMP_RELAY)"))

        let json = try #require(
            try await ChildProcess.run(product: "lampctl", ["gpio", "set", "--chip", "simulated", "0", "0", "--hold", "0s", "--json"])
                .jsonObject())
        #expect(json["released"] as? Bool == true)
        #expect(json["value"] as? Int == 0)
    }

    @Test("watch on the simulated chip prints the simulated edges")
    func watch() async throws {
        let result = try await ChildProcess.run(product: "lampctl", [
            "gpio", "watch", "--chip", "simulated", "CABINET_DOOR", "--simulate-toggles", "2", "--count", "2", "--json",
        ])
        #expect(result.exitCode == 0)
        var objects = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let summary = try #require(objects.popLast()?["summary"] as? [String: Any], "the report ends with a summary")
        #expect(summary["edges"] as? Int == 2)
        #expect(summary["interrupted"] as? Bool == false)
        #expect(objects.map { $0["edge"] as? String } == ["rising", "falling"])
        let stamps = objects.compactMap { $0["monotonicNanoseconds"] as? UInt64 }
        #expect(stamps.count == 2 && stamps[0] < stamps[1])
    }

    @Test("get on an output reads it as it is and says it is an output")
    func getOutput() async throws {
        let text = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "simulated", "LAMP_RELAY"])
        #expect(text.exitCode == 0)
        #expect(text.stdout == "simulated:0 (LAMP_RELAY) = 0 (output driving LAMP_RELAY; read as it is, direction and level unchanged)\n")
        let json = try #require(try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "simulated", "0", "--json"]).jsonObject())
        #expect(json["direction"] as? String == "output")
        let bias = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "simulated", "LAMP_RELAY", "--bias", "pull-up"])
        #expect(bias.exitCode == 2)
        #expect(bias.stderr.contains("is an output: --bias applies to inputs only"))
    }

    @Test("--chip /dev/null says it is not a GPIO chip")
    func notAChip() async throws {
        let result = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "/dev/null", "1"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("/dev/null is not a GPIO chip"))
    }

    @Test("A real chip on a machine without chips: exit 1 and the named message")
    func missingChip() async throws {
        try #require(GPIOCommandTests.machineHasNoGPIOChips, "this machine has GPIO chips")
        let text = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "gpiochip0", "17"])
        #expect(text.exitCode == 1)
        #expect(text.stderr.contains("GPIO chip 'gpiochip0' not found"))
        #expect(text.stderr.contains("no GPIO chips on this machine (/dev/gpiochip* absent)"))

        let json = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "gpiochip0", "17", "--json"])
        #expect(json.exitCode == 1)
        let error = try #require(try json.jsonObject()?["error"] as? [String: Any])
        #expect(error["code"] as? String == "gpio.no-chips")
    }

    @Test("Unknown line names and offsets: exit 1 and what exists")
    func badLine() async throws {
        let name = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "simulated", "DOOR"])
        #expect(name.exitCode == 1)
        #expect(name.stderr.contains("no line named 'DOOR'"))
        #expect(name.stderr.contains("CABINET_DOOR"))
        let offset = try await ChildProcess.run(product: "lampctl", ["gpio", "get", "--chip", "simulated", "9"])
        #expect(offset.exitCode == 1)
        #expect(offset.stderr.contains("offsets 0–6"))
    }

    @Test("Bad arguments exit 2", arguments: [
        ["gpio", "get", "--chip", "simulated"],
        ["gpio", "set", "--chip", "simulated", "LAMP_RELAY", "2"],
        ["gpio", "set", "--chip", "simulated", "LAMP_RELAY", "1", "--hold", "soon"],
        ["gpio", "get", "--chip", "simulated", "1", "--bias", "sideways"],
        ["gpio", "watch", "--chip", "gpiochip0", "1", "--simulate-toggles", "2"],
        ["gpio", "watch", "--chip", "simulated", "1", "--count", "0"],
    ])
    func usage(arguments: [String]) async throws {
        let result = try await ChildProcess.run(product: "lampctl", arguments)
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("Usage:"))
    }

    static var machineHasNoGPIOChips: Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
        return !entries.contains { $0.hasPrefix("gpiochip") }
    }
}
