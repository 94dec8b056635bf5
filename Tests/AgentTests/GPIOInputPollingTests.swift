import LampdConfig
import Foundation
import Hardware
import Synchronization
import Telemetry
import Testing
import TestSupport
@testable import Agent

/// An input whose line has no interrupt (issue 13, hazard 2): lampd polls it instead of
/// raising `gpio.input-failed` and retrying every minute.
@Suite("Sampling: GPIO inputs without an interrupt")
struct GPIOInputPollingTests {
    static func configuration(_ extra: String = "") throws(ConfigurationErrors) -> LampdConfiguration {
        try LampdConfiguration.parse("""
            [board]
            kind = "live"
            id = "p"
            [[gpio.inputs]]
            channel = "expander.door"
            chip = "expander"
            line = "EXP_DOOR"
            debounce = "20ms"
            \(extra)
            """)
    }

    @Test func pollIntervalIsReadWithADefaultAndACheckedRange() throws {
        #expect(try Self.configuration().gpioInputs.first?.pollInterval == .milliseconds(250))
        #expect(try Self.configuration("poll_interval = \"20ms\"").gpioInputs.first?.pollInterval == .milliseconds(20))
        for bad in ["\"1ms\"", "\"11s\"", "\"soon\"", "5"] {
            let problems = Self.problems("poll_interval = \(bad)")
            #expect(problems.contains { $0.contains("poll_interval") }, "poll_interval = \(bad): \(problems)")
        }
    }

    @Test func theTrafficBoxSectionTakesPollIntervalForAllItsContacts() throws {
        let base = """
            [board]
            kind = "live"
            id = "p"
            [gpio.traffic_box]
            chip = "expander"
            """
        let defaults = try LampdConfiguration.parse(base).gpioInputs
        #expect(defaults.count == 5 && defaults.allSatisfy { $0.pollInterval == .milliseconds(250) })
        let set = try LampdConfiguration.parse(base + "\npoll_interval = \"40ms\"").gpioInputs
        #expect(set.count == 5 && set.allSatisfy { $0.pollInterval == .milliseconds(40) })
        #expect(throws: ConfigurationErrors.self) { try LampdConfiguration.parse(base + "\npoll_interval = \"1ms\"") }
    }

    /// The errors a configuration with `extra` gets (none when it is accepted).
    static func problems(_ extra: String) -> [String] {
        do {
            _ = try configuration(extra)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func aLineWithoutAnInterruptIsPolledDebouncedAndSaidOnce() async throws {
        let chip = SimulatedGPIOChip(
            name: "expander", label: "no interrupt pin",
            lines: [.init(name: "EXP_DOOR", direction: .input, hasInterrupt: false)])
        var input = try #require(try Self.configuration("poll_interval = \"10ms\"").gpioInputs.first)
        input.trueEvent = .init(kind: "expander.door.opened", severity: .warning)
        let sink = RecordingSink()
        let watcher = try GPIOInputWatcher(input: input, sink: sink, timeSource: TestTimeSource(), logger: silentLogger)
        let task = Task { await watcher.run(on: chip) }
        defer { task.cancel() }
        try await waitUntil { sink.readings.count == 1 }  // the initial state
        #expect(sink.events.map(\.kind) == [GPIOInputWatcher.polledEventKind])
        let polled = try #require(sink.events.first)
        #expect(polled.severity == .info)
        #expect(polled.channel?.rawValue == "expander.door")
        #expect(polled.message.contains("line has no interrupt; edges cannot be watched, polling instead (every 10 ms)"))

        try chip.setInputLevel(.name("EXP_DOOR"), high: true)
        try await waitUntil { sink.events.count == 2 }
        #expect(sink.events.last?.kind == "expander.door.opened")
        try chip.setInputLevel(.name("EXP_DOOR"), high: false)
        try await waitUntil { sink.events.count == 3 }
        #expect(sink.events.map(\.kind) == [GPIOInputWatcher.polledEventKind, "expander.door.opened", "expander.door.off"])
        #expect(!sink.events.contains { $0.kind == "gpio.input-failed" })
    }
}
