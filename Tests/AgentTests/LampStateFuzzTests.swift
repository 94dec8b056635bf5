import ControlProtocol
import Foundation
import Telemetry
import TestSupport
import Testing

@testable import Agent

/// The lamp's state files are input too (a damaged card, a hand edit): whatever they hold, lampd
/// starts, drives the lamp and never traps (issue 11, "every input is hostile").
@Suite("Lamp state files, fuzzed")
struct LampStateFuzzTests {
    /// Valid state and counter files, written by a pole that ran for a while.
    func validFiles() async throws -> (state: [UInt8], counters: [UInt8]) {
        let clock = LightingTestClock("2025-12-10T22:30:00Z")
        let pole = try await Pole.make(clock: clock)
        defer { try? FileManager.default.removeItem(atPath: pole.directory) }
        for _ in 0..<5 {
            pole.feedMeter()
            _ = await pole.step()
            clock.advance(seconds: 60)
        }
        await pole.service.shutdown()
        let state = try Data(contentsOf: URL(fileURLWithPath: pole.directory + "/" + LampState.fileName))
        let counters = try Data(contentsOf: URL(fileURLWithPath: pole.directory + "/" + LampCounters.fileName))
        return ([UInt8](state), [UInt8](counters))
    }

    /// `json` with each number replaced, with probability 1/2, by an extreme one.
    static func hostileNumbers(in json: [UInt8], using random: inout SeededRandom) throws -> [UInt8] {
        let extremes: [Any] = [1e308, -1e308, Int64.max, Int64.min, -1, 0, Double.leastNonzeroMagnitude * 2_000, 4e18, -4e18, 101, 1e15]
        func walk(_ value: Any) -> Any {
            switch value {
            case let dictionary as [String: Any]: return dictionary.mapValues(walk)
            case let array as [Any]: return array.map(walk)
            case is NSNumber where !(value is Bool) && Bool.random(using: &random): return random.pick(extremes)
            default: return value
            }
        }
        let object = try JSONSerialization.jsonObject(with: Data(json))
        return [UInt8](try JSONSerialization.data(withJSONObject: walk(object)))
    }

    @Test("Mutated lamp-state.json and lamp-counters.json: lampd starts, steps and stays lit at night")
    func mutatedStateFiles() async throws {
        let (state, counters) = try await validFiles()
        var random = SeededRandom(seed: 0x1A_4D_57A7)
        let numbers: [[UInt8]] = ["1e308", "-1e308", "9223372036854775807", "-9223372036854775808", "18446744073709551616",
                                  "1e-320", "0", "-1", "\"\"", "null", "[]", "{}", "\"9999-12-31T23:59:59Z\""].map { Array($0.utf8) }
        for iteration in 0..<60 {
            let directory = NSTemporaryDirectory() + "lampd-state-fuzz-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // Half the time bytes edited anywhere; half the time valid JSON whose numbers are hostile.
            let mutatedState = iteration % 2 == 0 ? random.mutate(state, maximumEdits: 3, dictionary: numbers)
                : try Self.hostileNumbers(in: state, using: &random)
            let mutatedCounters = iteration % 2 == 0 ? random.mutate(counters, maximumEdits: 3, dictionary: numbers)
                : try Self.hostileNumbers(in: counters, using: &random)
            try Data(iteration % 3 == 1 ? state : mutatedState).write(to: URL(fileURLWithPath: directory + "/" + LampState.fileName))
            try Data(iteration % 3 == 2 ? counters : mutatedCounters).write(to: URL(fileURLWithPath: directory + "/" + LampCounters.fileName))

            let clock = LightingTestClock("2025-12-10T22:30:00Z")  // night: the lamp must be lit
            let pole = try await Pole.make(clock: clock, directory: directory)
            await pole.service.commandFirstDecision()
            for _ in 0..<3 {
                pole.feedMeter()
                let snapshot = await pole.step()
                #expect(snapshot.targetLevelPercent > 0, "iteration \(iteration)")
                clock.advance(seconds: 3600)
            }
            await pole.service.shutdown()
        }
    }
}
