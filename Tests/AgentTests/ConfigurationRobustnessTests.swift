@testable import LampdConfig
import Foundation
import Lighting
import TestSupport
import Testing
import Uplink
@testable import Agent

/// Issue 11 #3, #4 and the configuration parts of #17: no configuration file may abort lampd
/// or `lampctl config check`, the last good copy covers everything the configuration pulls in,
/// and errors say what is wrong.
@Suite("Configuration: robustness and the last good copy")
struct ConfigurationRobustnessTests {
    static let scheduleFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LightingTests/Fixtures/simple_schedule.json")

    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lampd-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    func problems(_ text: String) -> [ConfigurationError] {
        do {
            _ = try LampdConfiguration.parse(text, file: "lampd.toml")
            return []
        } catch {
            return error.errors
        }
    }

    @Test("a one-byte typo in a table header is a syntax error with its line (issue 11 #3)",
          arguments: ["[}]", "[=watchdog]", "[{a]", "[[}a]]"])
    func headerTypo(header: String) {
        let found = problems("[board]\nkind = \"simulated\"\nid = \"p\"\n\(header)\n")
        #expect(found.count == 1)
        #expect(found.first?.location.line == 4)
        #expect(found.first?.message.hasPrefix("TOML syntax:") == true)
    }

    @Test("a Latin-1 byte is reported as not UTF-8, with its line, not as a permission problem (issue 11 #17)")
    func latin1() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("lampd.toml")
        var bytes = Data("[board]\nkind = \"simulated\"\nid = \"p\"\n[site]\nlatitude = 47.4\nlongitude = 8.5\ntimezone = \"Europe/Z".utf8)
        bytes += Data([0xFC]) + Data("rich\"\n".utf8)
        try bytes.write(to: file)
        #expect(throws: ConfigurationErrors.self) { try LampdConfiguration.load(path: file.path) }
        do {
            _ = try LampdConfiguration.load(path: file.path)
        } catch {
            let problem = try #require(error.errors.first)
            #expect(problem.location.line == 7)
            #expect(problem.location.column == 21)
            #expect(problem.message.contains("not UTF-8"))
            #expect(!problem.message.contains("permission"))
        }
    }

    @Test("a state directory that exists and is not a directory is refused (issue 11 #17)")
    func stateDirectoryNotADirectory() {
        let found = problems("[board]\nkind = \"simulated\"\nid = \"p\"\n[storage]\ndirectory = \"/dev/null\"\n")
        #expect(found.count == 1)
        #expect(found.first?.keyPath == "storage.directory")
        #expect(found.first?.location.line == 5)
        #expect(found.first?.message.contains("/dev/null exists and is not a directory") == true)
    }

    /// A configuration in `directory/etc` naming its schedule by a relative path, with the state in `directory/state`.
    func writeConfiguration(in directory: URL) throws -> (file: URL, schedule: URL, state: URL) {
        let etc = directory.appendingPathComponent("etc")
        try FileManager.default.createDirectory(at: etc, withIntermediateDirectories: true)
        let schedule = etc.appendingPathComponent("schedule.json")
        try FileManager.default.copyItem(at: Self.scheduleFixture, to: schedule)
        let state = directory.appendingPathComponent("state")
        let file = etc.appendingPathComponent("lampd.toml")
        try """
            [board]
            kind = "simulated"
            id = "p"
            [storage]
            directory = "\(state.path)"
            [site]
            latitude = 52.5
            longitude = 13.4
            timezone = "Europe/Berlin"
            [lighting]
            output = "relay"
            schedule_file = "schedule.json"
            [lighting.relay]
            line = "LAMP_RELAY"
            """.write(to: file, atomically: true, encoding: .utf8)
        return (file, schedule, state)
    }

    @Test("the last good copy keeps a relative schedule file, and runs when the schedule file breaks (issue 11 #4)")
    func lastGoodKeepsTheSchedule() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (file, schedule, state) = try writeConfiguration(in: directory)
        let good = try LampdConfiguration.load(path: file.path)
        try LastGoodConfiguration.save(good, stateDirectory: state.path)

        // The copy loads from the state directory, relative schedule_file and all.
        let copy = try LastGoodConfiguration.fallback(stateDirectory: state.path)
        #expect(copy.lighting?.schedule?.calendar.defaultProgram == "city-default")

        // A broken schedule file breaks the configuration; the copy still runs with the schedule it was checked with.
        try Data("{ not json".utf8).write(to: schedule)
        #expect(throws: ConfigurationErrors.self) { try LampdConfiguration.load(path: file.path) }
        let fallback = try LastGoodConfiguration.fallback(stateDirectory: state.path)
        #expect(fallback.lighting?.schedule == good.lighting?.schedule)

        // And a deleted one.
        try FileManager.default.removeItem(at: schedule)
        #expect(LastGoodConfiguration.load(stateDirectory: state.path)?.lighting?.schedule == good.lighting?.schedule)
    }

    @Test("a header typo does not hide the state directory of the last good copy (issue 11 #3)")
    func headerTypoFallsBack() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (file, _, state) = try writeConfiguration(in: directory)
        try LastGoodConfiguration.save(LampdConfiguration.load(path: file.path), stateDirectory: state.path)
        var text = try String(contentsOf: file, encoding: .utf8)
        text = text.replacingOccurrences(of: "[site]", with: "[}]\n[site]").replacingOccurrences(of: "[lighting]", with: "[[}a]]\n[lighting]")
        try text.write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationErrors.self) { try LampdConfiguration.load(path: file.path) }
        let found = LastGoodConfiguration.stateDirectory(fromBroken: Array(text.utf8))
        #expect(found == state.path)
        #expect(LastGoodConfiguration.load(stateDirectory: found) != nil)
    }

    @Test("a new good configuration replaces the copy and the files it kept")
    func lastGoodIsReplaced() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (file, schedule, state) = try writeConfiguration(in: directory)
        try LastGoodConfiguration.save(LampdConfiguration.load(path: file.path), stateDirectory: state.path)
        let plain = try Data(contentsOf: schedule)
        let edited = String(decoding: plain, as: UTF8.self).replacingOccurrences(of: "\"level\": 60", with: "\"level\": 40")
        try Data(edited.utf8).write(to: schedule)
        let second = try LampdConfiguration.load(path: file.path)
        #expect(!LastGoodConfiguration.isCurrent(LastGoodConfiguration.copy(of: second), stateDirectory: state.path))
        try LastGoodConfiguration.save(second, stateDirectory: state.path)
        #expect(LastGoodConfiguration.isCurrent(LastGoodConfiguration.copy(of: second), stateDirectory: state.path))
        let kept = try FileManager.default.contentsOfDirectory(atPath: state.path).filter { $0.hasPrefix("last-good.include.") }
        #expect(kept.count == 1)
        #expect(try LastGoodConfiguration.fallback(stateDirectory: state.path).lighting?.schedule == second.lighting?.schedule)
    }

    @Test("mutated configurations never trap: each is valid or has errors with a line")
    func mutatedConfigurations() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/examples")
        var seeds = try ["simulated.toml", "raspberry-pi.toml"].map { [UInt8](try Data(contentsOf: examples.appendingPathComponent($0))) }
        seeds.append(seeds[0] + Array("\n[uplink]\nurl = \"https://ingest.example:8443/v1/batches\"\n".utf8))
        let dictionary = ["[", "]", "[[", "{", "}", "=", "\"", "'''", ".", "#", "\n", "\\u", "0", "9", "inf", "1979-05-27",
                          ":99999", "@", "://", "ftp"].map { Array($0.utf8) }
        var random = SeededRandom(seed: 0x1103)
        for _ in 0..<300 {
            let bytes = random.mutate(random.pick(seeds), maximumEdits: 3, dictionary: dictionary)
            do {
                let configuration = try LampdConfiguration.parse(bytes: bytes, file: "mutated.toml")
                // What the check accepts, the HTTP transport must accept (it traps on a port above 65535).
                if let uplink = configuration.uplink { #expect(UplinkConfiguration.endpointProblem(uplink.url) == nil, "\(uplink.url)") }
            } catch {
                #expect(!error.errors.isEmpty)
                if error.errors.count == 1, let problem = error.errors.first, problem.message.hasPrefix("TOML syntax") {
                    #expect(problem.location.line != nil)
                }
            }
        }
    }
}
