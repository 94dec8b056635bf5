import Foundation

/// Runs blocking work (a socket's connect or read, a blocking C call) on a thread of its own and
/// awaits its result, so it never holds one of the few threads of Swift's cooperative pool
/// (STYLE.md rule 6; there are only 2 on a 2-core machine).
public enum DedicatedThread {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
