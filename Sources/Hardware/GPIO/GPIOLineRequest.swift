internal import CGPIOD
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Owns one line requested from a `GPIOChip`; releases it when the last
/// reference goes away.
///
/// Values are read and written on the chip's serial queue. Edge waits block in
/// `gpiod_line_event_wait` on this request's own queue instead, so a long wait
/// never holds up the other lines of the chip: the wait only polls and reads
/// this line's event fd, which no call on the chip queue touches while the
/// line stays requested (the release happens after the last wait finished,
/// because each wait keeps this object alive).
final class GPIOLineRequest: Sendable {
    let chip: GPIOChip
    let line: GPIOHandle
    let offset: UInt32
    let name: String?
    let description: String
    /// Where blocking edge waits run.
    private let waitQueue: DispatchQueue

    init(chip: GPIOChip, line: GPIOHandle, offset: UInt32, name: String?, description: String) {
        self.chip = chip
        self.line = line
        self.offset = offset
        self.name = name
        self.description = description
        self.waitQueue = DispatchQueue(label: "lampd.gpio.wait.\(chip.name).\(offset)")
    }

    deinit {
        // Released on the chip queue (never synchronously: deinit may itself run there).
        let chip = self.chip
        let line = self.line
        chip.queue.async {
            gpiod_line_release(line.pointer)
            withExtendedLifetime(chip) {}
        }
    }

    func value() async throws -> Bool {
        try await chip.queue.perform { () throws -> Bool in
            switch GPIOD.call({ gpiod_line_get_value(self.line.pointer) }) {
            case .success(let value): return value != 0
            case .failure(let error):
                throw GPIOError(errno: error.value, operation: "read value", chip: self.chip.name, line: self.description)
            }
        }
    }

    func setValue(_ value: Bool) async throws {
        try await chip.queue.perform { () throws in
            if case .failure(let error) = GPIOD.call({ gpiod_line_set_value(self.line.pointer, value ? 1 : 0) }) {
                throw GPIOError(errno: error.value, operation: "drive value", chip: self.chip.name, line: self.description)
            }
        }
    }

    /// Longest single blocking wait, so cancellation is noticed within this time.
    private static let waitSliceNanoseconds: Int64 = 200_000_000

    func waitForEdge(timeout: Duration) async throws -> EdgeEvent? {
        let cancelled = Mutex(false)
        return try await withTaskCancellationHandler {
            try await waitQueue.perform { () throws -> EdgeEvent? in
                let (seconds, attoseconds) = max(timeout, .zero).components
                var remaining = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
                repeat {
                    if cancelled.withLock({ $0 }) { throw CancellationError() }
                    let slice = min(remaining, Self.waitSliceNanoseconds)
                    var ts = timespec(tv_sec: Int(slice / 1_000_000_000), tv_nsec: Int(slice % 1_000_000_000))
                    switch GPIOD.call({ gpiod_line_event_wait(self.line.pointer, &ts) }) {
                    case .success(0):
                        remaining -= slice
                    case .success:
                        return try self.readEvent()
                    case .failure(let error) where error.value == EINTR:
                        continue
                    case .failure(let error):
                        throw GPIOError(
                            errno: error.value, operation: "wait for edge", chip: self.chip.name, line: self.description)
                    }
                } while remaining > 0
                return nil
            }
        } onCancel: {
            cancelled.withLock { $0 = true }
        }
    }

    /// Reads the pending event after a successful wait. Call on `waitQueue`.
    private func readEvent() throws(GPIOError) -> EdgeEvent {
        var event = gpiod_line_event()
        if case .failure(let error) = GPIOD.call({ gpiod_line_event_read(line.pointer, &event) }) {
            throw GPIOError(errno: error.value, operation: "read edge event", chip: chip.name, line: description)
        }
        let nanoseconds = UInt64(event.ts.tv_sec) * 1_000_000_000 + UInt64(event.ts.tv_nsec)
        let edge: EdgeEvent.Edge = Int(event.event_type) == Int(GPIOD_LINE_EVENT_RISING_EDGE) ? .rising : .falling
        return EdgeEvent(edge: edge, monotonicNanoseconds: nanoseconds)
    }
}

/// A line of a real chip requested as an input.
public final class GPIOInputLine: DigitalInput {
    private let request: GPIOLineRequest
    init(_ request: GPIOLineRequest) { self.request = request }

    /// `gpiochip0:17 (CABINET_DOOR)`.
    public var description: String { request.description }
    /// Offset on the chip.
    public var offset: UInt32 { request.offset }

    public func read() async throws -> Bool { try await request.value() }
}

/// A line of a real chip requested as an output. The kernel keeps the last
/// driven level after release on most drivers.
public final class GPIOOutputLine: DigitalOutput {
    private let request: GPIOLineRequest
    init(_ request: GPIOLineRequest) { self.request = request }

    /// `gpiochip0:17 (LAMP_RELAY)`.
    public var description: String { request.description }
    /// Offset on the chip.
    public var offset: UInt32 { request.offset }

    public func write(_ value: Bool) async throws { try await request.setValue(value) }
    public func read() async throws -> Bool { try await request.value() }
}

/// A line of a real chip requested as an input that reports both edges with
/// the kernel's `CLOCK_MONOTONIC` timestamps.
public final class GPIOEdgeLine: EdgeEventSource, DigitalInput {
    private let request: GPIOLineRequest
    init(_ request: GPIOLineRequest) { self.request = request }

    /// `gpiochip0:17 (CABINET_DOOR)`.
    public var description: String { request.description }
    /// Offset on the chip.
    public var offset: UInt32 { request.offset }

    public func read() async throws -> Bool { try await request.value() }

    /// Waits on a dedicated thread; cancelling the task ends the wait within 200 ms.
    public func waitForEdge(timeout: Duration) async throws -> EdgeEvent? {
        try await request.waitForEdge(timeout: timeout)
    }
}
