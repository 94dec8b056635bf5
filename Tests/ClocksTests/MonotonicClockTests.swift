import Testing

@testable import Clocks

/// The one clock of the loops: the system clock reads CLOCK_MONOTONIC, the simulated one moves
/// only when a test advances it, and neither traps on an instant out of range.
@Suite("Monotonic clock")
struct MonotonicClockTests {
    @Test func theSystemClockIsSteadyAndSleepsOnItsOwnTime() async throws {
        let clock = SystemMonotonicClock()
        let start = clock.now
        try await clock.sleep(for: .milliseconds(5))
        #expect(start.duration(to: clock.now) >= .milliseconds(5))
        #expect(start.nanoseconds > 0)
    }

    @Test func sleepersWakeWhenTheClockIsAdvancedPastTheirDeadline() async throws {
        let clock = SimulatedClock()
        let late = Task { try await clock.sleep(for: .seconds(60)) }
        let early = Task { try await clock.sleep(for: .seconds(1)) }
        try await clock.waitForSleepers(2)
        clock.advance(by: .milliseconds(999))
        #expect(clock.sleepers == 2, "nobody wakes before the deadline")
        clock.advance(by: .milliseconds(1))
        try await early.value
        #expect(clock.sleepers == 1, "the 60 s sleeper still sleeps")
        clock.advance(by: .seconds(59))
        try await late.value
        #expect(clock.sleepers == 0)
        #expect(clock.now == MonotonicInstant(sinceOrigin: .seconds(1060)))
    }

    @Test func aCancelledSleeperEndsAtOnceAndAPastDeadlineDoesNotWait() async throws {
        let clock = SimulatedClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(3600)) }
        try await clock.waitForSleepers()
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleepers == 0)
        try await clock.sleep(until: clock.now.advanced(by: .seconds(-1)), tolerance: nil)
        clock.advance(by: .seconds(-5))  // monotonic: ignored
        #expect(clock.now == MonotonicInstant(sinceOrigin: .seconds(1000)))
    }

    @Test func instantsOutOfRangeClampInsteadOfTrapping() {
        #expect(MonotonicInstant(sinceOrigin: .seconds(-3)).nanoseconds == 0)
        #expect(MonotonicInstant(sinceOrigin: .seconds(Int64.max)).nanoseconds == UInt64.max)
        #expect(MonotonicInstant(sinceOrigin: .seconds(18_446_744_073)).nanoseconds == 18_446_744_073_000_000_000)
        #expect(MonotonicInstant(sinceOrigin: .milliseconds(1500)).nanoseconds == 1_500_000_000)
        #expect(MonotonicInstant(sinceOrigin: .milliseconds(1500)).seconds == 1.5)
    }
}
