import ServiceLifecycle
import Synchronization

/// What must have happened before lampd tells systemd it is ready (`READY=1`): the lamp commanded
/// once and the spool open (both before the service group starts, in `LampdAgent.build`), and the
/// control socket listening (or its failure logged), so that `systemctl start lampd && lampctl
/// status` is answered even on a slow board.
///
/// Each condition is a name; `arrive(_:)` marks it, `opened()` returns once all have arrived.
public final class StartupGate: Sendable {
    private struct State {
        var waitingFor: Set<String>
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter = 0
    }

    private let state: Mutex<State>

    /// A gate that opens once each of `conditions` has arrived (at once if there are none).
    public init(conditions: Set<String>) {
        state = Mutex(State(waitingFor: conditions))
    }

    /// Marks `condition` as done; opens the gate when it was the last one.
    public func arrive(_ condition: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.waitingFor.remove(condition)
            guard state.waitingFor.isEmpty else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// The conditions that have not arrived yet.
    public var pending: Set<String> { state.withLock { $0.waitingFor } }

    /// Returns true once every condition has arrived, false if the calling task is cancelled first.
    public func opened() async -> Bool {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let answer = state.withLock { state -> Bool? in
                    if state.waitingFor.isEmpty { return true }
                    if Task.isCancelled { return false }
                    state.waiters[id] = continuation
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }
}

/// Reports readiness once the service group runs and the `StartupGate` has opened, then waits for
/// shutdown. It is the last service, so when its `run()` starts the group handles SIGTERM (a stop
/// request before that point would otherwise kill lampd without committing the spool).
public struct ReadinessService: Service {
    private let gate: StartupGate
    private let onReady: @Sendable () -> Void

    public init(gate: StartupGate = StartupGate(conditions: []), onReady: @escaping @Sendable () -> Void) {
        self.gate = gate
        self.onReady = onReady
    }

    public func run() async throws {
        // A stop before the gate opens ends the wait (the group then stops without READY).
        if await cancelWhenGracefulShutdown({ await gate.opened() }) { onReady() }
        try? await gracefulShutdown()
    }
}
