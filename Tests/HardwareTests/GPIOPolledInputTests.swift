import Foundation
import Testing

@testable import Hardware
import Clocks

/// A line without an interrupt (an expander with no interrupt pin): the kernel refuses edge
/// events with ENODEV; lampd and lampctl poll it instead (issue 13, hazard 2).
@Suite("GPIO: lines without an interrupt are polled")
struct GPIOPolledInputTests {
    let clock = SimulatedClock(now: .seconds(10))

    func expander() -> SimulatedGPIOChip {
        SimulatedGPIOChip(
            name: "expander", label: "i2c expander, no interrupt pin",
            lines: [
                .init(name: "EXP_DOOR", direction: .input, hasInterrupt: false),
                .init(name: "EXP_IN1", direction: .input),
            ],
            clock: clock)
    }

    @Test("An edge request on a line without an interrupt is a named error, not a generic I/O error")
    func edgesNotSupported() async throws {
        let chip = expander()
        let error = await #expect(throws: GPIOError.self) {
            _ = try await chip.requestEdgeEvents(.name("EXP_DOOR"))
        }
        #expect(error?.code == "gpio.edges-not-supported")
        #expect(error?.errno == ENODEV)
        #expect(error?.description.contains("expander:0 (EXP_DOOR)") == true)
        #expect(error?.description.contains("line has no interrupt; edges cannot be watched") == true)
        // The failed request left the line free.
        _ = try await chip.requestInput(.name("EXP_DOOR"))
        // A line with an interrupt on the same chip still gives edges.
        _ = try await chip.requestEdgeEvents(.name("EXP_IN1"))
    }

    @Test("requestEdgesOrPolling falls back to polling only for a line without an interrupt")
    func fallback() async throws {
        let chip = expander()
        let withEdges = try await chip.requestEdgesOrPolling(
            .name("EXP_IN1"), activeLow: false, bias: .asIs, consumer: "t", pollInterval: .milliseconds(50), clock: clock)
        #expect(withEdges.polledBecause == nil)
        #expect(withEdges.source is SimulatedEdgeInput)
        let polled = try await chip.requestEdgesOrPolling(
            .name("EXP_DOOR"), activeLow: false, bias: .asIs, consumer: "t", pollInterval: .milliseconds(50), clock: clock)
        #expect(polled.polledBecause?.code == "gpio.edges-not-supported")
        #expect(polled.pollInterval == .milliseconds(50))
        #expect(polled.source.description == "expander:0 (EXP_DOOR)")
        #expect(try await chip.lineInfo(.name("EXP_DOOR")).consumer == "t", "the polled line is held as an input")
    }

    @Test("A polled line reports each change as an edge stamped at the read that saw it")
    func polledEdges() async throws {
        let chip = expander()
        let line = try await PolledEdgeInput(
            try await chip.requestInput(.name("EXP_DOOR"), activeLow: true), period: .milliseconds(100), clock: clock)
        #expect(try await line.read(), "active-low and electrically low: logical true")
        let waiter = Task { try await line.waitForEdge(timeout: .seconds(5)) }
        try await clock.waitForSleepers()
        clock.advance(by: .milliseconds(100))  // a read, no change
        try await clock.waitForSleepers()
        try chip.setInputLevel(.name("EXP_DOOR"), high: true)  // active-low: logical false
        clock.advance(by: .milliseconds(100))  // the read that sees it
        let edge = try #require(try await waiter.value)
        #expect(edge == EdgeEvent(edge: .falling, monotonicNanoseconds: 10_200_000_000))

        let quiet = Task { try await line.waitForEdge(timeout: .milliseconds(250)) }
        for _ in 0..<3 {
            try await clock.waitForSleepers()
            clock.advance(by: .milliseconds(100))
        }
        #expect(try await quiet.value == nil, "no change within the timeout: nil")
    }

    @Test("Cancelling a polled wait ends it")
    func cancel() async throws {
        let chip = expander()
        let line = try await PolledEdgeInput(try await chip.requestInput(.name("EXP_DOOR")), period: .seconds(1), clock: clock)
        let waiter = Task { try await line.waitForEdge(timeout: .seconds(60)) }
        try await clock.waitForSleepers()
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
    }

    @Test("requestAsIs reads an output without changing its direction")
    func asIs() async throws {
        let chip = SimulatedGPIOChip.standardBoard(clock: clock)
        do {
            let relay = try await chip.requestOutput(.name("LAMP_RELAY"), initialValue: true)
            #expect(try await relay.read())
        }
        let read = try await chip.requestAsIs(.name("LAMP_RELAY"), activeLow: false, consumer: "lampctl")
        #expect(try await read.read())
        #expect(try await chip.lineInfo(.name("LAMP_RELAY")).direction == .output)
    }

    @Test("A path that exists but is not a GPIO chip says so (not 'not found')")
    func notAChip() async throws {
        let error = await #expect(throws: GPIOError.self) { _ = try await GPIOChip.open("/dev/null") }
        #expect(error?.code == "gpio.not-a-chip")
        #expect(error?.description.hasPrefix("/dev/null is not a GPIO chip") == true)
        let missing = await #expect(throws: GPIOError.self) { _ = try await GPIOChip.open("/dev/no-such-gpiochip") }
        #expect(missing?.code != "gpio.not-a-chip")
    }
}
