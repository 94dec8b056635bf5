import Dispatch
import Synchronization

/// How one request's caller learns its outcome: exactly once, from whichever
/// comes first — the bus (the answer or its error), the caller's task being
/// cancelled, or the wait limit passing.
///
/// A request whose caller stopped waiting before it reached the bus is never
/// sent (`start()` says so); one already on the bus finishes there, bounded by
/// its timeout, and its outcome is dropped.
final class ModbusRequestTicket<T: Sendable>: Sendable {
    private enum Phase { case queued, onTheBus, done }
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var phase = Phase.queued
    }

    private let state = Mutex(State())

    /// Slack after the bound before the caller stops waiting on its own: libmodbus
    /// ends the exchange by its deadline, this only covers what it cannot bound.
    static var grace: Duration { .milliseconds(250) }

    /// How long a caller waits at most: the exchange in progress, its own, and the grace.
    static func waitLimit(timeout: Duration) -> Duration { timeout * 2 + grace }

    /// Whole nanoseconds for Dispatch, clamped to what an `Int` holds.
    static func nanoseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? 0 : Int.max }
        let (total, overflowAdding) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        guard !overflowAdding else { return Int.max }
        return Int(clamping: max(0, total))
    }

    /// Hands over the caller's continuation; false (and the caller resumed with
    /// `CancellationError`) when the task was cancelled before.
    func attach(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let cancelled = state.withLock { state -> Bool in
            guard state.phase != .done else { return true }
            state.continuation = continuation
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// Called by the bus before sending: false when the caller no longer waits.
    func start() -> Bool {
        state.withLock { state in
            guard state.phase == .queued, state.continuation != nil else { return false }
            state.phase = .onTheBus
            return true
        }
    }

    /// The bus's outcome.
    func finish(_ result: Result<T, ModbusError>) {
        take()?.resume(with: result.mapError { $0 as any Error })
    }

    /// The caller's task was cancelled (lampd stopping): it stops waiting now.
    func cancel() {
        take()?.resume(throwing: CancellationError())
    }

    /// The wait limit passed: a request still queued behind others was never
    /// sent (`.busBusy`); one on the bus got no complete answer (`.timeout`).
    func giveUp(bus: String, unit: UInt8, timeout: Duration, waited: Duration) {
        let (continuation, phase) = state.withLock { state in
            let taken = (state.continuation, state.phase)
            if state.phase != .done { state.continuation = nil; state.phase = .done }
            return taken
        }
        guard let continuation, phase != .done else { return }
        let error = phase == .queued
            ? ModbusError(.busBusy, bus: bus, unit: unit, timeout: waited)
            : ModbusError(.timeout, bus: bus, unit: unit, timeout: timeout)
        continuation.resume(throwing: error)
    }

    private func take() -> CheckedContinuation<T, any Error>? {
        state.withLock { state in
            defer { state.continuation = nil; state.phase = .done }
            return state.phase == .done ? nil : state.continuation
        }
    }
}

/// Requests waiting for one bus, in two lanes: writes (commands such as the
/// lamp's level) go ahead of reads (meter polls), each lane in arrival order.
struct ModbusRequestLanes: Sendable {
    typealias Job = @Sendable () -> Void
    private var urgent: [Job] = []
    private var normal: [Job] = []

    mutating func append(urgent isUrgent: Bool, _ job: @escaping Job) {
        if isUrgent { urgent.append(job) } else { normal.append(job) }
    }

    /// The next request to run: the oldest write, else the oldest read.
    mutating func next() -> Job? {
        if !urgent.isEmpty { return urgent.removeFirst() }
        if !normal.isEmpty { return normal.removeFirst() }
        return nil
    }
}
