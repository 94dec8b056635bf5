import Clocks
import Synchronization

/// Lets one waiting loop sleep until it is signalled or a time has passed.
///
/// A signal that arrives while nobody waits is kept, so the next wait returns at once:
/// an urgent event never slips between two checks.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var continuation: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Wakes the waiter (or the next one).
    func signal() {
        let continuation = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let c = s.continuation {
                s.continuation = nil
                return c
            }
            s.pending = true
            return nil
        }
        continuation?.resume()
    }

    /// Returns when signalled, after `duration` of `clock`, or when the task is cancelled.
    func wait(upTo duration: Duration, on clock: any MonotonicClock) async {
        let timer = Task { [weak self] in
            try? await clock.sleep(for: duration)
            if !Task.isCancelled { self?.signal() }
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.pending {
                        s.pending = false
                        return true
                    }
                    s.continuation = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            signal()
        }
    }
}
