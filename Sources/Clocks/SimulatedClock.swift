import Synchronization

/// A `MonotonicClock` that moves only when told to: tests and scenarios advance it with
/// `advance(by:)` instead of sleeping, like SwiftNIO's `NIOEmbedded` `advanceTime(by:)`.
///
/// A sleeper whose deadline has come is woken by the `advance` that reaches it; a cancelled
/// sleeper throws `CancellationError` at once. `sleepers` tells a test that the loop it drives
/// is asleep, so it can advance without racing it.
public final class SimulatedClock: MonotonicClock {
    private struct Sleeper {
        let id: UInt64
        let deadline: MonotonicInstant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: MonotonicInstant
        var sleepers: [Sleeper] = []
        var nextID: UInt64 = 0
        /// Sleepers cancelled before they were queued.
        var cancelled: Set<UInt64> = []
    }

    private let state: Mutex<State>

    /// A clock at `now` since its origin (1000 s by default, so nothing starts at zero).
    public init(now: Duration = .seconds(1000)) {
        state = Mutex(State(now: MonotonicInstant(sinceOrigin: now)))
    }

    public var now: MonotonicInstant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .nanoseconds(1) }

    /// How many tasks sleep on this clock now.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// Returns once at least `count` tasks sleep on this clock: the loop a test drives has
    /// reached its wait, so advancing the clock now cannot race it. Waits on that event (checked
    /// every millisecond), not on a deadline.
    public func waitForSleepers(_ count: Int = 1) async throws {
        while sleepers < count {
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    public func sleep(until deadline: MonotonicInstant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                if let index = state.sleepers.firstIndex(where: { $0.id == id }) { return state.sleepers.remove(at: index) }
                state.cancelled.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward by `duration` (negative durations are ignored: it is monotonic)
    /// and wakes every sleeper whose deadline has come, earliest first.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: max(.zero, duration))
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
