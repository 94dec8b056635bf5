import Synchronization
import Telemetry

/// What went wrong with the state directory and the spool since lampd started, for the health
/// verdict of `lampctl status` (exit 1): the spool's own events (`spool.corrupt`, `spool.lost`,
/// `spool.full`, ...) exist inside the spool, so they are collected here as they happen
/// (`Spool.observeOwnEvents`), with the start-up problems `LampdAgent` meets itself.
public final class StorageHealth: Sendable {
    /// Event kinds that make the pole unhealthy until lampd restarts.
    public static let problemKinds: Set<String> = [
        "storage.unavailable", "spool.unavailable", "spool.corrupt", "spool.lost", "spool.full",
        "spool.marker-failed", "spool.marker-unreadable",
    ]

    private struct Problem {
        var message: String
        var count: Int
    }

    /// The latest problem per event kind, in the order first seen.
    private let problems = Mutex<[(kind: String, problem: Problem)]>([])

    public init() {}

    /// Notes `event` if it is one of `problemKinds`.
    public func note(_ event: Event) {
        guard Self.problemKinds.contains(event.kind) else { return }
        problems.withLock { problems in
            if let index = problems.firstIndex(where: { $0.kind == event.kind }) {
                problems[index].problem.message = event.message
                problems[index].problem.count += 1
            } else {
                problems.append((event.kind, Problem(message: event.message, count: 1)))
            }
        }
    }

    /// One line per kind of problem, e.g. `spool.lost: the spool file is gone ...` (`(3 times)` if repeated).
    public func summary() -> [String] {
        problems.withLock { problems in
            problems.map { "\($0.kind): \($0.problem.message)" + ($0.problem.count > 1 ? " (\($0.problem.count) times)" : "") }
        }
    }
}
