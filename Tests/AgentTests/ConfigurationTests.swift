@testable import LampdConfig
import Foundation
import Hardware
import Sampling
import Telemetry
import Testing
@testable import Agent
import Clocks

@Suite("Configuration")
struct ConfigurationTests {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/examples")

    @Test(arguments: ["simulated.toml", "raspberry-pi.toml"])
    func shippedExamplesAreValid(name: String) throws {
        let configuration = try LampdConfiguration.load(path: Self.examples.appendingPathComponent(name).path)
        #expect(configuration.modbusDevices.count == 1)
        #expect(configuration.gpioInputs.filter { $0.channel.hasPrefix("cabinet.") }.count == 5)
    }

    @Test func profileAndExplicitRegistersAreMergedUnderTheDeviceName() throws {
        let configuration = try LampdConfiguration.load(path: Self.examples.appendingPathComponent("raspberry-pi.toml").path)
        let meter = try #require(configuration.modbusDevices.first)
        #expect(meter.registers.map(\.channel).contains("meter.voltage"))
        #expect(meter.registers.map(\.channel).contains("meter.import-energy"))
        let imported = try #require(meter.registers.first { $0.channel == "meter.import-energy" })
        #expect(imported.address == 0x48)
        #expect(imported.reporting == .aggregate(intervalSeconds: 900))
        #expect(configuration.site?.timeZone == "Europe/Berlin")
        guard case let .rtu(settings) = try #require(configuration.modbusBuses.first).bus.transport else {
            Issue.record("expected an RTU bus"); return
        }
        #expect(settings == ModbusRTUSettings(device: "/dev/ttyAMA0", baudRate: 9600, parity: .none, dataBits: 8, stopBits: 1, rs485: .ifSupported))
    }

    @Test func syntaxErrorsPointAtLineAndColumn() {
        let text = "[board]\nkind = \"live\"\nid = \"p1\"\n[site\n"
        let errors = collect { () throws(ConfigurationErrors) in try LampdConfiguration.parse(text, file: "x.toml") }
        #expect(errors.count == 1)
        #expect(errors.first?.location.line == 4)
        #expect(errors.first?.description.hasPrefix("x.toml:4:") == true)
    }

    @Test func everyProblemIsReportedWithItsLine() {
        let text = """
            [board]
            kind = "flying"
            id = "pole 1"

            [site]
            latitude = 95.0
            longitude = "east"
            timezone = "Mars/Olympus"

            [[modbus.buses]]
            name = "rs485"
            rtu = "/dev/ttyS1"
            baudrate = 9600
            timeout = "fast"

            [[modbus.devices]]
            name = "meter"
            bus = "rs484"
            unit = 300
            profile = "eastron-sdm999"

            [[modbus.devices.registers]]
            channel = "x"
            table = "input"
            address = 0
            type = "f33"
            """
        let errors = collect { () throws(ConfigurationErrors) in try LampdConfiguration.parse(text, file: "bad.toml") }
        let byKey = Dictionary(grouping: errors, by: { (error: ConfigurationError) in error.keyPath })
        func line(_ key: String) -> Int? { byKey[key]?.first?.location.line }
        #expect(line("board.kind") == 2)
        #expect(line("board.id") == 3)
        #expect(line("site.latitude") == 6)
        #expect(line("site.longitude") == 7)
        #expect(line("site.timezone") == 8)
        #expect(line("modbus.buses[0].baudrate") == 13)
        #expect(byKey["modbus.buses[0].baudrate"]?.first?.message.contains("did you mean \"baud\"") == true)
        #expect(line("modbus.buses[0].timeout") == 14)
        #expect(line("modbus.devices[0].bus") == 18)
        #expect(byKey["modbus.devices[0].bus"]?.first?.message.contains("\"rs485\"") == true)
        #expect(line("modbus.devices[0].unit") == 19)
        #expect(line("modbus.devices[0].profile") == 20)
        #expect(line("modbus.devices[0].registers[0].type") == 26)
        #expect(byKey["board.kind"]?.first?.message.contains("\"simulated\", \"live\"") == true)
    }

    @Test func nestedArraysRestartTheirIndexUnderEachParent() {
        let text = """
            [board]
            kind = "live"
            id = "p"
            [[modbus.buses]]
            name = "b"
            tcp = "127.0.0.1:502"
            [[modbus.devices]]
            name = "one"
            bus = "b"
            unit = 1
            [[modbus.devices.registers]]
            channel = "a"
            table = "holding"
            address = 1
            [[modbus.devices]]
            name = "two"
            bus = "b"
            unit = 2
            [[modbus.devices.registers]]
            channel = "a"
            table = "holding"
            address = 1
            order = "XYZW"
            """
        let errors = collect { () throws(ConfigurationErrors) in try LampdConfiguration.parse(text) }
        #expect(errors.map(\.keyPath) == ["modbus.devices[1].registers[0].order"])
        #expect(errors.first?.location.line == 23)
    }

    @Test func missingFileAndDuplicateChannelsAreClear() {
        let missing = collect { () throws(ConfigurationErrors) in try LampdConfiguration.load(path: "/nonexistent/lampd.toml") }
        #expect(missing.first?.description == "/nonexistent/lampd.toml: the configuration file does not exist")
        let text = """
            [board]
            kind = "simulated"
            id = "p"
            [[gpio.inputs]]
            channel = "door"
            line = "A"
            [[gpio.inputs]]
            channel = "door"
            offset = 3
            """
        let errors = collect { () throws(ConfigurationErrors) in try LampdConfiguration.parse(text) }
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("channel \"door\" is used twice") == true)
    }

    @Test func tcpEndpoints() {
        #expect(TCPEndpoint("10.0.0.5", defaultPort: 502) == TCPEndpoint("10.0.0.5:502", defaultPort: 1))
        #expect(TCPEndpoint("[::1]:1502", defaultPort: 502)?.port == 1502)
        #expect(TCPEndpoint("[::1]:1502", defaultPort: 502)?.host == "::1")
        #expect(TCPEndpoint("host:0", defaultPort: 502) == nil)
        #expect(TCPEndpoint("host:99999", defaultPort: 502) == nil)
        #expect(TCPEndpoint(":502", defaultPort: 502) == nil)
    }

    @Test func telemetryCommitWindowIsCheckedAndDefaults() throws {
        let head = "[board]\nkind = \"simulated\"\nid = \"x\"\n[storage]\n"
        #expect(try LampdConfiguration.parse(head).storage.commitWindow == SpoolConfiguration.defaultTelemetryCommitWindow)
        #expect(try LampdConfiguration.parse(head + "telemetry_commit_window = \"5s\"\n").storage.commitWindow == .seconds(5))
        // The older name still works, so configurations written before durability by class keep their window.
        #expect(try LampdConfiguration.parse(head + "commit_window = \"2s\"\n").storage.commitWindow == .seconds(2))

        let tooLong = collect { () throws(ConfigurationErrors) in
            try LampdConfiguration.parse(head + "telemetry_commit_window = \"5m\"\n", file: "x.toml")
        }
        #expect(tooLong.count == 1)
        #expect(tooLong.first?.description.hasPrefix("x.toml:5:27: storage.telemetry_commit_window:") == true,
                "\(tooLong.first?.description ?? "")")
        let notADuration = collect { () throws(ConfigurationErrors) in
            try LampdConfiguration.parse(head + "telemetry_commit_window = 5\n", file: "x.toml")
        }
        #expect(notADuration.first?.keyPath == "storage.telemetry_commit_window")
        let both = collect { () throws(ConfigurationErrors) in
            try LampdConfiguration.parse(head + "telemetry_commit_window = \"5s\"\ncommit_window = \"1s\"\n", file: "x.toml")
        }
        #expect(both.first?.description.contains("older name of telemetry_commit_window") == true)
    }

    @Test func durations() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("1.5s") == .milliseconds(1500))
        #expect(DurationText.parse("5m") == .seconds(300))
        #expect(DurationText.parse("2d") == .seconds(172_800))
        #expect(DurationText.parse("-1s") == nil)
        #expect(DurationText.parse("fast") == nil)
        #expect(DurationText.parse("10") == nil)
        #expect(DurationText.format(.seconds(3600)) == "1h")
        #expect(DurationText.format(.milliseconds(1500)) == "1500ms")
    }

    private func collect(_ body: () throws(ConfigurationErrors) -> LampdConfiguration) -> [ConfigurationError] {
        do {
            _ = try body()
            Issue.record("expected configuration errors")
            return []
        } catch {
            return error.errors
        }
    }
}
