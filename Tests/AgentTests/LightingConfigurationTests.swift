@testable import LampdConfig
import Foundation
import Lighting
import Testing
@testable import Agent

@Suite("Lighting configuration")
struct LightingConfigurationTests {
    static let examples = ConfigurationTests.examples

    @Test(arguments: ["simulated.toml", "raspberry-pi.toml"])
    func shippedExamplesHaveADuskToDawnProgram(name: String) throws {
        let configuration = try LampdConfiguration.load(path: Self.examples.appendingPathComponent(name).path)
        let lighting = try #require(configuration.lighting)
        guard case .relayPWM(_, let pwm) = lighting.output else { Issue.record("expected relay+pwm"); return }
        #expect(pwm.periodNanoseconds == 1_000_000 && pwm.minimumLevelPercent == 10)
        let program = try #require(lighting.schedule?.programs.first)
        #expect(program.activePeriod?.description == "sunset+00:10…sunrise-00:10")
        #expect(program.switchPoints.map(\.description).sorted() == ["05:00 → 100 %", "23:00 → 60 %"])
        #expect(program.switchPoints.first { $0.levelPercent == 60 }?.rampSeconds == 300)
        #expect(lighting.overridePolicy.defaultTechnicianDurationSeconds == 7200)
        #expect(lighting.lampType != nil)
    }

    @Test func builtInConfigurationIsTheSimulatedExample() throws {
        let file = try String(contentsOf: Self.examples.appendingPathComponent("simulated.toml"), encoding: .utf8)
        #expect(file == LampdConfiguration.builtInSimulated + "\n" || file == LampdConfiguration.builtInSimulated)
    }

    func errors(_ text: String) -> [ConfigurationError] {
        do { _ = try LampdConfiguration.parse(text, file: "l.toml"); return [] } catch { return error.errors }
    }

    @Test func lightingWithoutASiteIsRefused() {
        let found = errors("""
            [board]
            kind = "simulated"
            id = "p"
            [lighting]
            output = "relay"
            [lighting.relay]
            chip = "gpiochip0"
            line = "LAMP_RELAY"
            [lighting.program.switch_points]
            "sunset" = 100
            "sunrise" = 0
            """)
        #expect(found.count == 1)
        #expect(found.first?.location.line == 4)
        #expect(found.first?.message.contains("[site]") == true)
    }

    @Test func everyLightingProblemPointsAtItsLine() {
        let found = errors("""
            [board]
            kind = "simulated"
            id = "p"
            [site]
            latitude = 52.5
            longitude = 13.4
            [lighting]
            output = "relay+pwm"
            fail_safe_level = 0
            [lighting.relay]
            chip = "gpiochip0"
            line = "LAMP_RELAY"
            [lighting.pwm]
            chip = 0
            channel = 0
            min_levl = 10
            [lighting.program]
            from = "sunset+00:10"
            to = "dawnish"
            [lighting.program.switch_points]
            "23:00" = 160
            "25:00" = 60
            """)
        let lines = Dictionary(found.map { ($0.keyPath, $0.location.line) }, uniquingKeysWith: { a, _ in a })
        #expect(lines["lighting.fail_safe_level"] == 9)
        #expect(lines["lighting.pwm.min_levl"] == 16)
        #expect(lines["lighting.program.to"] == 19)
        #expect(lines["lighting.program.switch_points.23:00"] == 21)
        #expect(lines["lighting.program.switch_points.25:00"] == 22)
        #expect(found.count == 5)
        #expect(found.first { $0.keyPath == "lighting.pwm.min_levl" }?.message.contains("did you mean \"min_level\"") == true)
    }

    @Test func modbusOutputNeedsAKnownBus() {
        let found = errors("""
            [board]
            kind = "simulated"
            id = "p"
            [site]
            latitude = 52.5
            longitude = 13.4
            [lighting]
            output = "modbus"
            [lighting.modbus]
            bus = "rs485"
            unit = 3
            register = 0x10
            [lighting.program.switch_points]
            "sunset" = 100
            "sunrise" = 0
            """)
        #expect(found.count == 1)
        #expect(found.first?.location.line == 10)
    }

    @Test func scheduleFileAcceptsTheTALQCalendar() throws {
        let talq = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LightingTests/Fixtures/talq_calendar.json").path
        let configuration = try LampdConfiguration.parse("""
            [board]
            kind = "simulated"
            id = "p"
            [site]
            latitude = 52.5
            longitude = 13.4
            timezone = "Europe/Berlin"
            [lighting]
            output = "relay"
            schedule_file = "\(talq)"
            [lighting.relay]
            chip = "gpiochip0"
            line = "LAMP_RELAY"
            """)
        #expect(configuration.lighting?.schedule?.calendar.defaultProgram == "city-default")

        let found = errors("""
            [board]
            kind = "simulated"
            id = "p"
            [site]
            latitude = 52.5
            longitude = 13.4
            [lighting]
            output = "relay"
            schedule_file = "/nonexistent/calendar.json"
            [lighting.relay]
            chip = "gpiochip0"
            line = "LAMP_RELAY"
            """)
        #expect(found.count == 1 && found.first?.location.line == 9)
        #expect(found.first?.message.contains("does not exist") == true)
    }
}
