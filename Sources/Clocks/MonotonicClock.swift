#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The steady clock every lampd loop runs on: `SystemMonotonicClock` (CLOCK_MONOTONIC, the
/// clock the kernel stamps GPIO edges with) on the board, `SimulatedClock` advanced by hand in
/// tests (STYLE.md rule 11).
///
/// One injected value serves what a loop needs: `now` to measure (debounce, heartbeats, a
/// lamp's warm-up) and `sleep(until:tolerance:)` / `sleep(for:)` to wait (poll intervals,
/// retries, edge-wait timeouts). The wall clock and the boot id that stamp readings are a
/// different idea and come from `TimeSource` (Telemetry).
public protocol MonotonicClock: Clock, Sendable where Instant == MonotonicInstant {}

/// A point on a `MonotonicClock`: the time since the clock's origin (boot, for CLOCK_MONOTONIC).
public struct MonotonicInstant: InstantProtocol, Sendable, Hashable, Comparable {
    /// Time since the clock's origin; never negative on the system clock.
    public var sinceOrigin: Duration

    public init(sinceOrigin: Duration) {
        self.sinceOrigin = sinceOrigin
    }

    public func advanced(by duration: Duration) -> MonotonicInstant {
        MonotonicInstant(sinceOrigin: sinceOrigin + duration)
    }

    public func duration(to other: MonotonicInstant) -> Duration {
        other.sinceOrigin - sinceOrigin
    }

    public static func + (lhs: MonotonicInstant, rhs: Duration) -> MonotonicInstant { lhs.advanced(by: rhs) }
    public static func - (lhs: MonotonicInstant, rhs: Duration) -> MonotonicInstant { lhs.advanced(by: .zero - rhs) }
    public static func - (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Duration { rhs.duration(to: lhs) }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.sinceOrigin < rhs.sinceOrigin
    }

    /// Whole nanoseconds since the origin, clamped to `0...UInt64.max`: the unit of GPIO edge
    /// stamps (`EdgeEvent.monotonicNanoseconds`) and of `ContactDebouncer`.
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = sinceOrigin.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (total, overflowAdding) = whole.addingReportingOverflow(UInt64(clamping: attoseconds / 1_000_000_000))
        return overflowAdding ? .max : total
    }

    /// Seconds since the origin: the unit of `LoopHeartbeats` and of the simulated board's physics.
    public var seconds: Double { sinceOrigin.seconds }
}

/// CLOCK_MONOTONIC: steady, starts at boot, the clock the kernel stamps GPIO edge events with.
public struct SystemMonotonicClock: MonotonicClock {
    public init() {}

    public var now: MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(sinceOrigin: .seconds(Int64(time.tv_sec)) + .nanoseconds(Int64(time.tv_nsec)))
    }

    public var minimumResolution: Duration { .nanoseconds(1) }

    public func sleep(until deadline: MonotonicInstant, tolerance: Duration?) async throws {
        let left = now.duration(to: deadline)
        guard left > .zero else { return try Task.checkCancellation() }
        // Swift's SuspendingClock is CLOCK_MONOTONIC on Linux.
        try await Task.sleep(for: left, tolerance: tolerance, clock: .suspending)
    }
}
