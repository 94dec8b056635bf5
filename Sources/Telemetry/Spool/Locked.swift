import Foundation

/// A value guarded by a lock, for state touched from synchronous code (`Spool.enqueue`).
///
/// `@unchecked Sendable` is sound: every access to `value` goes through `withLock`, which holds
/// `lock`. (`Synchronization.Mutex` would do, but needs macOS 15 while the package says 14.)
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
