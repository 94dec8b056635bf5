import Foundation
import Testing
import TestSupport
import Telemetry
@testable import Clocks

/// The clock is an input like any other (issue 11 #6): a bad RTC may say any date.
@Suite("Clock readings and checked time conversions")
struct ClockInputTests {
    static func spec(_ seconds: Int, _ nanoseconds: Int = 0) -> timespec {
        timespec(tv_sec: seconds, tv_nsec: nanoseconds)
    }

    @Test func aClockAtOrAfter2262IsUnsynchronisedNotATrap() {
        // 2262-04-11T23:47:16Z + 1 s: one second past what Int64 nanoseconds hold.
        for seconds in [9_223_372_037, Int(Int64.max / 1_000_000_000) + 1, Int.max] {
            let time = SystemTimeSource.timestamp(
                realtime: Self.spec(seconds, 999_999_999), boottime: Self.spec(42), bootID: Timestamp.unknownBootID,
                kernelSynchronised: true)
            #expect(!time.isClockSynchronised, "\(seconds)")
            #expect(time.utcNanoseconds == Timestamp.latestUTCNanoseconds)
            #expect(time.bootNanoseconds == 42_000_000_000)
        }
    }

    @Test func aClockBefore1970IsUnsynchronised() {
        for seconds in [-1, -9_223_372_037, Int.min] {
            let time = SystemTimeSource.timestamp(
                realtime: Self.spec(seconds), boottime: Self.spec(1), bootID: Timestamp.unknownBootID, kernelSynchronised: true)
            #expect(!time.isClockSynchronised)
            #expect(time.utcNanoseconds == 0)
        }
    }

    @Test func anOrdinaryClockKeepsItsTimeAndState() {
        let time = SystemTimeSource.timestamp(
            realtime: Self.spec(1_759_341_600, 250_000_000), boottime: Self.spec(3600), bootID: Timestamp.unknownBootID,
            kernelSynchronised: true)
        #expect(time.isClockSynchronised)
        #expect(time.utcNanoseconds == 1_759_341_600_250_000_000)
        let unsynced = SystemTimeSource.timestamp(
            realtime: Self.spec(1_759_341_600), boottime: Self.spec(3600), bootID: Timestamp.unknownBootID,
            kernelSynchronised: false)
        #expect(!unsynced.isClockSynchronised)
    }

    @Test func aBootClockBeyondInt64IsClampedNotATrap() {
        let time = SystemTimeSource.timestamp(
            realtime: Self.spec(1_759_341_600), boottime: Self.spec(Int.max, 999_999_999), bootID: Timestamp.unknownBootID,
            kernelSynchronised: true)
        #expect(time.bootNanoseconds == Int64.max)
    }

    @Test func checkedConversionsRefuseWhatDoesNotFit() {
        #expect(CheckedTime.nanoseconds(fromSeconds: 1.5) == 1_500_000_000)
        for bad in [Double.nan, .infinity, -.infinity, 9.3e9, -9.3e9, 1e300] {
            #expect(CheckedTime.nanoseconds(fromSeconds: bad) == nil, "\(bad)")
            #expect(CheckedTime.duration(seconds: bad) == nil, "\(bad)")
        }
        #expect(CheckedTime.nanoseconds(fromWholeSeconds: 9_223_372_037) == nil)
        #expect(CheckedTime.nanoseconds(fromWholeSeconds: -9_223_372_036) == -9_223_372_036_000_000_000)
        #expect(CheckedTime.nanoseconds(seconds: 9_223_372_036, plus: 854_775_808) == nil)
        let range = Duration.zero...Duration.seconds(3600)
        #expect(CheckedTime.duration(seconds: .nan, clampedTo: range) == .zero)
        #expect(CheckedTime.duration(seconds: -1e300, clampedTo: range) == .zero)
        #expect(CheckedTime.duration(seconds: 1e300, clampedTo: range) == .seconds(3600))
        #expect(CheckedTime.duration(seconds: .infinity, clampedTo: range) == .seconds(3600))
        #expect(CheckedTime.duration(seconds: 3600.5, clampedTo: range) == .seconds(3600))
        #expect(CheckedTime.duration(seconds: 1.25, clampedTo: range) == .milliseconds(1250))
    }

    @Test func seededClockReadingsNeverTrap() {
        var random = SeededRandom(seed: 0x6c616d70)
        for _ in 0..<20_000 {
            let seconds = Int(truncatingIfNeeded: random.next())
            let nanoseconds = Int(random.next() % 1_000_000_000)
            let time = SystemTimeSource.timestamp(
                realtime: Self.spec(seconds, nanoseconds), boottime: Self.spec(Int(truncatingIfNeeded: random.next())),
                bootID: Timestamp.unknownBootID, kernelSynchronised: random.next() & 1 == 0)
            #expect((0...Timestamp.latestUTCNanoseconds).contains(time.utcNanoseconds))
            _ = CheckedTime.duration(seconds: Double(bitPattern: random.next()), clampedTo: .zero...(.seconds(86_400)))
        }
    }
}
