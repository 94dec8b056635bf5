import Dispatch
import Glibc
import Synchronization

/// Ctrl-C (SIGINT) in `gpio watch` and `gpio set`: instead of the default exit 130 with no
/// summary, Ctrl-C cancels the command's wait, so the command releases the line, prints its
/// summary (and closes its `--json` report) and exits 0 (docs/gpio-and-pwm.md).
enum GPIOInterrupt {
    /// Runs `body` in a task that Ctrl-C cancels. `body` must return normally when cancelled,
    /// with what it has so far. Gives back its result and whether Ctrl-C was pressed.
    static func run<T: Sendable>(
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> (value: T, interrupted: Bool) {
        let pressed = PressedFlag()
        let task = Task { try await body() }
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            pressed.set()
            task.cancel()
        }
        source.resume()
        defer { source.cancel() }
        let value = try await task.value
        return (value, pressed.isSet)
    }

    private final class PressedFlag: Sendable {
        private let state = Mutex(false)
        func set() { state.withLock { $0 = true } }
        var isSet: Bool { state.withLock { $0 } }
    }
}
