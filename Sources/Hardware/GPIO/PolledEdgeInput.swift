import Synchronization
import Clocks

/// An input line read every `period` that reports each change of its level as an edge,
/// stamped by its own clock at the read that saw it: the stand-in for kernel edge events on
/// a line without an interrupt (`GPIOError.edgesNotSupported`).
///
/// Changes shorter than the period can be missed, and a change is stamped up to one period
/// late; debounce (`ContactDebouncer`) works on these edges as on the kernel's.
public final class PolledEdgeInput<Line: DigitalInput>: EdgeEventSource, DigitalInput {
    private let line: Line
    /// Time between two reads.
    public let period: Duration
    private let clock: any MonotonicClock
    /// The level at the last read: an edge is a read that differs from it.
    private let lastLevel: Mutex<Bool>

    /// Reads the line once for the starting level.
    ///
    /// - Parameter period: time between reads (the caller checks its range; at least 1 ms is used).
    public init(_ line: Line, period: Duration, clock: any MonotonicClock = SystemMonotonicClock()) async throws {
        self.line = line
        self.period = max(period, .milliseconds(1))
        self.clock = clock
        self.lastLevel = Mutex(try await line.read())
    }

    /// The line's description, e.g. `gpiochip2:0 (EXP_DOOR)`.
    public var description: String { line.description }

    /// Reads the line now (does not count as a poll: edges stay relative to the last poll).
    public func read() async throws -> Bool { try await line.read() }

    /// Reads the line every `period` until its level differs from the last read (an edge) or
    /// `timeout` has passed (nil). Cancelling the task ends the wait.
    public func waitForEdge(timeout: Duration) async throws -> EdgeEvent? {
        let deadline = clock.now.advanced(by: max(timeout, .zero))
        while clock.now < deadline {
            try await clock.sleep(until: min(clock.now.advanced(by: period), deadline), tolerance: nil)
            let level = try await line.read()
            let stamp = clock.now.nanoseconds
            let changed = lastLevel.withLock { last in
                defer { last = level }
                return last != level
            }
            if changed { return EdgeEvent(edge: level ? .rising : .falling, monotonicNanoseconds: stamp) }
        }
        return nil
    }
}

/// A line watched for changes: through the kernel's edge events, or by polling when the
/// line has no interrupt.
public struct WatchedInput: Sendable {
    /// Where edges come from.
    public let source: any EdgeEventSource & DigitalInput
    /// Why the line is polled (`GPIOError.edgesNotSupported`); nil when the kernel reports edges.
    public let polledBecause: GPIOError?
    /// The poll period when polled.
    public let pollInterval: Duration?
}

extension GPIOController {
    /// Requests edge events on a line; when it has no interrupt (`GPIOError.edgesNotSupported`),
    /// requests it as an input and polls it every `pollInterval` instead.
    ///
    /// - Throws: every other error of `requestEdgeEvents` and `requestInput` (busy, missing, …).
    public func requestEdgesOrPolling(
        _ line: GPIOLineSelector, activeLow: Bool, bias: LineBias, consumer: String,
        pollInterval: Duration, clock: any MonotonicClock = SystemMonotonicClock()
    ) async throws -> WatchedInput {
        do {
            let edges = try await requestEdgeEvents(line, activeLow: activeLow, bias: bias, consumer: consumer)
            return WatchedInput(source: edges, polledBecause: nil, pollInterval: nil)
        } catch let error as GPIOError {
            guard case .edgesNotSupported = error else { throw error }
            let input = try await requestInput(line, activeLow: activeLow, bias: bias, consumer: consumer)
            let polled = try await PolledEdgeInput(input, period: pollInterval, clock: clock)
            return WatchedInput(source: polled, polledBecause: error, pollInterval: polled.period)
        }
    }
}
