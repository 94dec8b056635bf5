import Testing
@testable import Sampling

@Suite("DeviceAvailability")
struct DeviceAvailabilityTests {
    @Test func missingAfterConsecutiveFailuresThenBacksOff() {
        var unit = DeviceAvailability(failuresBeforeMissing: 3, initialBackoffSeconds: 5, maximumBackoffSeconds: 40)
        #expect(unit.recordFailure(atSeconds: 0) == nil)
        #expect(unit.recordFailure(atSeconds: 1) == nil)
        #expect(unit.shouldPoll(atSeconds: 1.5))
        #expect(unit.recordFailure(atSeconds: 2) == .wentMissing)
        #expect(!unit.shouldPoll(atSeconds: 6.9))
        #expect(unit.shouldPoll(atSeconds: 7))
        // Delays double up to the cap: 10, 20, 40, 40.
        var now = 7.0
        for expected in [10.0, 20, 40, 40] {
            #expect(unit.recordFailure(atSeconds: now) == nil)  // reported once only
            #expect(unit.nextAttemptSeconds == now + expected)
            now += expected
        }
    }

    @Test func cameBackIsReportedOnceAndResets() {
        var unit = DeviceAvailability(failuresBeforeMissing: 1)
        #expect(unit.recordFailure(atSeconds: 0) == .wentMissing)
        #expect(unit.recordSuccess(atSeconds: 10) == .cameBack)
        #expect(unit.recordSuccess(atSeconds: 11) == nil)
        #expect(unit.consecutiveFailures == 0)
        #expect(unit.shouldPoll(atSeconds: 11))
    }

    @Test func aSingleSuccessBetweenFailuresKeepsItPresent() {
        var unit = DeviceAvailability(failuresBeforeMissing: 2)
        for second in 0..<20 {
            let transition = second.isMultiple(of: 2)
                ? unit.recordFailure(atSeconds: Double(second))
                : unit.recordSuccess(atSeconds: Double(second))
            #expect(transition == nil)
        }
        #expect(!unit.isMissing)
    }
}
