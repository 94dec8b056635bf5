import Dispatch
import Synchronization

/// An `SQLiteConnection` shared by async callers, one call at a time.
///
/// A `Mutex` guards the connection, so this type is `Sendable` without `@unchecked`. Async calls
/// (`run`) also hop to the connection's own serial dispatch queue and wait there through a
/// continuation: SQLite calls block (an fsync at every commit, a busy timeout of seconds) and
/// must not hold a thread of Swift's cooperative pool (STYLE.md rule 6) — GRDB, which the spool
/// used before, did the same with a queue per connection.
final class SerializedConnection: Sendable {
    private let connection: Mutex<SQLiteConnection>
    private let queue: DispatchQueue

    /// - Parameter label: names the dispatch queue (seen in a debugger or a crash report).
    init(_ connection: consuming sending SQLiteConnection, label: String) {
        self.connection = Mutex(connection)
        self.queue = DispatchQueue(label: label)
    }

    /// Runs `body` with the connection on its queue and returns its result. Not interrupted by
    /// task cancellation: a started write always completes or fails on its own.
    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.runHere(body) })
            }
        }
    }

    /// Runs `body` with the connection on the calling thread, waiting for a call in progress:
    /// for opening and closing, which are synchronous.
    func runHere<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try connection.withLock { connection in try body(connection) }
    }
}
