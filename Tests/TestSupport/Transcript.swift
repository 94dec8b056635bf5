import Foundation
import Synchronization
import Clocks

/// How long a test waits for an event before it calls the wait a hang: a last resort, never the
/// normal path (tests wait for lines, messages and exits, not for clocks).
///
/// 120 s by default, so that a slow or busy machine is never mistaken for a broken one;
/// `LAMPD_TEST_HANG_GUARD_SECONDS` changes it.
public enum HangGuard {
    public static let duration: Duration = {
        let seconds = ProcessInfo.processInfo.environment["LAMPD_TEST_HANG_GUARD_SECONDS"].flatMap(Int.init) ?? 120
        return .seconds(min(max(seconds, 1), 3600))
    }()
}

/// Why a wait in a test ended without what it waited for.
public struct WaitFailure: Error, CustomStringConvertible {
    /// What the test waited for, e.g. `a line containing "lampd running"`.
    public var waitingFor: String
    /// What happened instead, e.g. `lampd exited with status 1` or `nothing came within 120 s`.
    public var reason: String
    /// The last lines of the child concerned (its stdout and stderr), oldest first.
    public var lastLines: [String]
    /// Where the child's whole output is, if it was kept.
    public var logFile: String?

    public var description: String {
        var text = "waited for \(waitingFor), but \(reason)"
        if let logFile { text += " (whole output: \(logFile))" }
        if lastLines.isEmpty { return text + "; it printed nothing" }
        return text + "; its last \(lastLines.count) lines:\n" + lastLines.joined(separator: "\n")
    }
}

/// Lines (or messages) in the order they arrived, and waits for one that matches.
///
/// A wait looks at what already arrived first, then at each new arrival, so an event that came
/// before the wait began is never missed. It ends at once with a `WaitFailure` when the source
/// ends (`finish`) — a child that exited will print nothing more — and only as a last resort
/// when `HangGuard.duration` passes.
public final class Transcript: Sendable {
    private struct Waiter {
        var matches: @Sendable (String) -> Bool
        var remaining: Int
        var waitingFor: String
        var continuation: CheckedContinuation<String, any Error>
    }

    private struct Ending {
        var reason: String
        var lastLines: [String]
    }

    private struct State {
        var lines: [String] = []
        var waiters: [UInt64: Waiter] = [:]
        var cancelled: Set<UInt64> = []
        var streams: [UInt64: AsyncStream<String>.Continuation] = [:]
        var nextID: UInt64 = 0
        var ending: Ending?
    }

    private let state = Mutex(State())
    /// Names the source in failures (`lampd`, `notify socket`).
    public let source: String
    /// Where the source's whole output is kept, for failure messages.
    public let logFile: String?

    public init(source: String, logFile: String? = nil) {
        self.source = source
        self.logFile = logFile
    }

    /// Everything that arrived so far.
    public var lines: [String] { state.withLock { $0.lines } }

    /// How many lines arrived so far (a mark for `wait(from:)`).
    public var count: Int { state.withLock { $0.lines.count } }

    /// The last `count` lines.
    public func last(_ count: Int = 30) -> [String] { state.withLock { Array($0.lines.suffix(count)) } }

    /// Adds a line and wakes the waits it satisfies.
    public func append(_ line: String) {
        let (ready, streams) = state.withLock { state -> ([(CheckedContinuation<String, any Error>, String)], [AsyncStream<String>.Continuation]) in
            state.lines.append(line)
            var ready: [(CheckedContinuation<String, any Error>, String)] = []
            for (id, var waiter) in state.waiters where waiter.matches(line) {
                waiter.remaining -= 1
                if waiter.remaining <= 0 {
                    state.waiters[id] = nil
                    ready.append((waiter.continuation, line))
                } else {
                    state.waiters[id] = waiter
                }
            }
            return (ready, Array(state.streams.values))
        }
        for (continuation, line) in ready { continuation.resume(returning: line) }
        for stream in streams { stream.yield(line) }
    }

    /// No more lines will come: every wait still open fails at once, naming `reason`.
    public func finish(reason: String, lastLines: [String]? = nil) {
        let (waiters, streams, ending) = state.withLock { state -> ([Waiter], [AsyncStream<String>.Continuation], Ending) in
            if state.ending == nil {
                state.ending = Ending(reason: reason, lastLines: lastLines ?? Array(state.lines.suffix(30)))
            }
            let waiters = Array(state.waiters.values)
            let streams = Array(state.streams.values)
            state.waiters = [:]
            state.streams = [:]
            return (waiters, streams, state.ending!)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: failure(waiter.waitingFor, ending)) }
        for stream in streams { stream.finish() }
    }

    /// Whether `finish` was called.
    public var isFinished: Bool { state.withLock { $0.ending != nil } }

    private func failure(_ waitingFor: String, _ ending: Ending) -> WaitFailure {
        WaitFailure(waitingFor: waitingFor, reason: ending.reason, lastLines: ending.lastLines, logFile: logFile)
    }

    /// Waits until `count` lines at or after index `from` satisfy `matches`; returns the last of them.
    ///
    /// - Parameters:
    ///   - description: what is awaited, for the failure message (`a line containing "ready"`).
    ///   - count: how many matching lines (1: the first).
    ///   - from: ignore lines before this index (a `count` taken earlier); 0 looks at everything.
    ///   - hangGuard: the last-resort limit.
    @discardableResult
    public func wait(
        for description: String, count: Int = 1, from: Int = 0, hangGuard: Duration = HangGuard.duration,
        matching matches: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        let id = state.withLock { state -> UInt64 in state.nextID += 1; return state.nextID }
        let seconds = Double(hangGuard.components.seconds) + Double(hangGuard.components.attoseconds) / 1e18
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
                enum Outcome { case found(String), failed(any Error), waiting }
                let outcome = state.withLock { state -> Outcome in
                    if state.cancelled.remove(id) != nil { return .failed(CancellationError()) }
                    // The condition first: what already arrived counts even if the source ended.
                    var remaining = count
                    for line in state.lines.dropFirst(from) where matches(line) {
                        remaining -= 1
                        if remaining <= 0 { return .found(line) }
                    }
                    if let ending = state.ending { return .failed(failure(description, ending)) }
                    state.waiters[id] = Waiter(matches: matches, remaining: remaining, waitingFor: description,
                                               continuation: continuation)
                    return .waiting
                }
                switch outcome {
                case .found(let line): continuation.resume(returning: line)
                case .failed(let error): continuation.resume(throwing: error)
                case .waiting:
                    DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak self] in
                        guard let self else { return }
                        expire(id, with: failure(description, Ending(
                            reason: "nothing matching came within \(hangGuard) (the hang guard)", lastLines: last())))
                    }
                }
            }
        } onCancel: {
            expire(id, with: CancellationError())
        }
    }

    /// Waits for a line that contains `text`.
    @discardableResult
    public func wait(forLineContaining text: String, count: Int = 1, from: Int = 0) async throws -> String {
        try await wait(for: "\(count == 1 ? "a line" : "\(count) lines") containing \"\(text)\" from \(source)",
                       count: count, from: from) { $0.contains(text) }
    }

    private func expire(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                if error is CancellationError { state.cancelled.insert(id) }
                return nil
            }
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Every line so far, then each new one, until the source ends.
    public func stream() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let finished = state.withLock { state -> Bool in
            for line in state.lines { continuation.yield(line) }
            guard state.ending == nil else { return true }
            state.nextID += 1
            state.streams[state.nextID] = continuation
            return false
        }
        if finished { continuation.finish() }
        return stream
    }
}
