import Clocks
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A GPIO chip in memory that behaves like a real one for the agent, tests
/// and `lampctl --chip simulated`.
///
/// Lines have names and offsets; requests are exclusive (a second request of
/// a held line fails with `GPIOError.lineBusy`, naming the holder). Tests and
/// scenarios drive inputs with `setInputLevel(_:high:)` or `toggle(_:)`; every
/// change of a line requested for edge events queues an `EdgeEvent` stamped
/// by the injected `MonotonicClock`, in logical terms (active-low
/// respected, as the kernel does). Outputs record every write in
/// `outputHistory(_:)`.
///
/// Levels are *electrical*: `high: true` is a logical `true` for an
/// active-high request and `false` for an active-low one.
public final class SimulatedGPIOChip: GPIOController {
    /// How one simulated line starts out.
    public struct LineSpec: Sendable, Hashable {
        public var name: String
        /// Direction shown by `info()` while the line is not requested.
        public var direction: GPIOLineDirection
        /// Electrical level at start.
        public var initialHigh: Bool
        /// False for a line without an interrupt (an expander with no interrupt pin): edge
        /// requests fail with `GPIOError.edgesNotSupported`, as the kernel's `ENODEV`.
        public var hasInterrupt: Bool

        public init(name: String, direction: GPIOLineDirection, initialHigh: Bool = false, hasInterrupt: Bool = true) {
            self.name = name
            self.direction = direction
            self.initialHigh = initialHigh
            self.hasInterrupt = hasInterrupt
        }
    }

    /// One write to a simulated output.
    public struct OutputChange: Sendable, Hashable, Codable {
        /// Logical value written.
        public var value: Bool
        /// Electrical level that resulted (differs from `value` when active-low).
        public var high: Bool
        /// When, from the chip's monotonic time source.
        public var monotonicNanoseconds: UInt64
    }

    /// Chip name of the standard simulated board.
    public static let standardBoardName = "simulated"

    /// The standard simulated board: the lines a lamp pole controller uses.
    ///
    /// | offset | name | direction | meaning |
    /// |---|---|---|---|
    /// | 0 | `LAMP_RELAY` | output | lamp on when `true` |
    /// | 1 | `CABINET_DOOR` | input | `true` = door open |
    /// | 2 | `FLASH_MODE` | input | traffic lights flashing amber |
    /// | 3 | `CONTROLLER_FAULT` | input | traffic controller fault |
    /// | 4 | `MAINS_PRESENT` | input | mains power present (starts `true`) |
    /// | 5 | `ON_BATTERY` | input | running on battery |
    /// | 6 | `PHOTOCELL` | input | `true` = dark |
    public static func standardBoard(clock: any MonotonicClock = SystemMonotonicClock()) -> SimulatedGPIOChip {
        SimulatedGPIOChip(
            name: standardBoardName,
            label: "lampd simulated board",
            lines: [
                LineSpec(name: "LAMP_RELAY", direction: .output),
                LineSpec(name: "CABINET_DOOR", direction: .input),
                LineSpec(name: "FLASH_MODE", direction: .input),
                LineSpec(name: "CONTROLLER_FAULT", direction: .input),
                LineSpec(name: "MAINS_PRESENT", direction: .input, initialHigh: true),
                LineSpec(name: "ON_BATTERY", direction: .input),
                LineSpec(name: "PHOTOCELL", direction: .input),
            ],
            clock: clock
        )
    }

    /// Edges kept per line before new ones are dropped (the kernel keeps 16).
    public static let eventQueueCapacity = 16

    /// How many output changes `outputHistory(_:)` keeps per line.
    public static let outputHistoryLimit = 1000

    public let name: String
    public let label: String
    private let clock: any MonotonicClock
    private let state: Mutex<State>

    /// Makes a chip whose line `i` is `lines[i]`.
    ///
    /// - Parameters:
    ///   - clock: the time stamped on edges and output writes, and what edge-wait timeouts
    ///     sleep on (CLOCK_MONOTONIC, as the kernel's, by default).
    public init(name: String, label: String, lines: [LineSpec], clock: any MonotonicClock = SystemMonotonicClock()) {
        self.name = name
        self.label = label
        self.clock = clock
        self.state = Mutex(State(lines: lines.map { LineState(spec: $0, high: $0.initialHigh) }))
    }

    // MARK: Stimulus (tests and scenarios)

    /// Sets the electrical level of a line as an outside signal would; queues
    /// an edge event if the line is requested for edges and its level changed.
    public func setInputLevel(_ line: GPIOLineSelector, high: Bool) throws {
        let (offset, timestamp) = (try resolve(line), clock.now.nanoseconds)
        let delivery = state.withLock { state in state.setLevel(offset, high: high, at: timestamp) }
        delivery?.resume()
    }

    /// Flips the electrical level of a line; see `setInputLevel(_:high:)`.
    public func toggle(_ line: GPIOLineSelector) throws {
        let offset = try resolve(line)
        let high = state.withLock { $0.lines[Int(offset)].high }
        try setInputLevel(.offset(offset), high: !high)
    }

    /// The electrical level of a line now.
    public func level(_ line: GPIOLineSelector) throws -> Bool {
        let offset = try resolve(line)
        return state.withLock { $0.lines[Int(offset)].high }
    }

    /// Every write to a line while it was requested as an output, oldest first
    /// (the initial value of each output request included).
    public func outputHistory(_ line: GPIOLineSelector) throws -> [OutputChange] {
        let offset = try resolve(line)
        return state.withLock { $0.lines[Int(offset)].history }
    }

    // MARK: GPIOController

    public func info() async throws -> GPIOChipInfo {
        state.withLock { state in
            GPIOChipInfo(
                name: name, label: label, lineCount: state.lines.count,
                lines: state.lines.indices.map { state.info(UInt32($0)) })
        }
    }

    public func lineInfo(_ line: GPIOLineSelector) async throws -> GPIOLineInfo {
        let offset = try resolve(line)
        return state.withLock { $0.info(offset) }
    }

    public func requestInput(
        _ line: GPIOLineSelector, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> SimulatedInputLine {
        SimulatedInputLine(try request(line, .input, activeLow: activeLow, bias: bias, consumer: consumer))
    }

    public func requestOutput(
        _ line: GPIOLineSelector, initialValue: Bool, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> SimulatedOutputLine {
        let request = try request(line, .output, activeLow: activeLow, bias: bias, consumer: consumer)
        try request.write(initialValue)
        return SimulatedOutputLine(request)
    }

    public func requestAsIs(
        _ line: GPIOLineSelector, activeLow: Bool, consumer: String
    ) async throws -> SimulatedInputLine {
        SimulatedInputLine(try request(line, .asIs, activeLow: activeLow, bias: .asIs, consumer: consumer))
    }

    public func requestEdgeEvents(
        _ line: GPIOLineSelector, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> SimulatedEdgeInput {
        let offset = try resolve(line)
        let spec = state.withLock { $0.lines[Int(offset)].spec }
        guard spec.hasInterrupt else {
            throw GPIOError.edgesNotSupported(
                chip: name, line: gpioLineDescription(chip: name, offset: offset, name: spec.name), errno: ENODEV)
        }
        return SimulatedEdgeInput(try request(line, .edges, activeLow: activeLow, bias: bias, consumer: consumer))
    }

    // MARK: Internals shared with the line objects

    /// Resolves a selector to an offset, with the same errors as a real chip.
    func resolve(_ line: GPIOLineSelector) throws(GPIOError) -> UInt32 {
        try state.withLock { state throws(GPIOError) -> UInt32 in
            switch line {
            case .offset(let offset):
                guard offset < state.lines.count else {
                    throw GPIOError.offsetOutOfRange(chip: name, offset: offset, lineCount: state.lines.count)
                }
                return offset
            case .name(let lineName):
                guard let index = state.lines.firstIndex(where: { $0.spec.name == lineName }) else {
                    throw GPIOError.lineNameNotFound(
                        chip: name, name: lineName, knownNames: state.lines.map(\.spec.name))
                }
                return UInt32(index)
            }
        }
    }

    private func request(
        _ line: GPIOLineSelector, _ kind: Holder.Kind, activeLow: Bool, bias: LineBias, consumer: String
    ) throws(GPIOError) -> SimulatedLineRequest {
        let offset = try resolve(line)
        return try state.withLock { state throws(GPIOError) -> SimulatedLineRequest in
            let lineState = state.lines[Int(offset)]
            let description = gpioLineDescription(chip: name, offset: offset, name: lineState.spec.name)
            if let holder = lineState.holder {
                throw GPIOError.lineBusy(chip: name, line: description, consumer: holder.consumer)
            }
            state.nextID += 1
            state.lines[Int(offset)].holder = Holder(
                id: state.nextID, kind: kind, activeLow: activeLow, bias: bias, consumer: consumer)
            return SimulatedLineRequest(chip: self, id: state.nextID, offset: offset, description: description)
        }
    }

    func release(offset: UInt32, id: UInt64) {
        state.withLock { state in
            if state.lines[Int(offset)].holder?.id == id {
                state.lines[Int(offset)].holder = nil
                state.lines[Int(offset)].pending.removeAll()
            }
        }
    }

    func logicalValue(offset: UInt32) -> Bool {
        state.withLock { state in
            let line = state.lines[Int(offset)]
            return line.high != (line.holder?.activeLow ?? false)
        }
    }

    func write(offset: UInt32, id: UInt64, value: Bool) {
        let timestamp = clock.now.nanoseconds
        state.withLock { state in
            guard let holder = state.lines[Int(offset)].holder, holder.id == id else { return }
            let high = value != holder.activeLow
            state.lines[Int(offset)].high = high
            state.lines[Int(offset)].history.append(
                OutputChange(value: value, high: high, monotonicNanoseconds: timestamp))
            // Keep the newest changes only: a simulated board may run for weeks.
            let excess = state.lines[Int(offset)].history.count - Self.outputHistoryLimit
            if excess > 0 { state.lines[Int(offset)].history.removeFirst(excess) }
        }
    }

    func waitForEdge(offset: UInt32, timeout: Duration) async throws -> EdgeEvent? {
        let waiterID = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<EdgeEvent?, any Error>) in
                let immediate: Result<EdgeEvent?, any Error>? = state.withLock { state in
                    if !state.lines[Int(offset)].pending.isEmpty {
                        return .success(state.lines[Int(offset)].pending.removeFirst())
                    }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if timeout <= .zero { return .success(nil) }
                    state.lines[Int(offset)].waiters.append(Waiter(id: waiterID, continuation: continuation))
                    return nil
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                let clock = self.clock
                let timer = Task {
                    try? await clock.sleep(for: timeout)
                    self.finishWaiter(offset: offset, id: waiterID, with: .success(nil))
                }
                let stillWaiting = state.withLock { state in
                    guard let index = state.lines[Int(offset)].waiters.firstIndex(where: { $0.id == waiterID })
                    else { return false }
                    state.lines[Int(offset)].waiters[index].timer = timer
                    return true
                }
                if !stillWaiting { timer.cancel() }
            }
        } onCancel: {
            finishWaiter(offset: offset, id: waiterID, with: .failure(CancellationError()))
        }
    }

    private func finishWaiter(offset: UInt32, id: UInt64, with result: Result<EdgeEvent?, any Error>) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.lines[Int(offset)].waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.lines[Int(offset)].waiters.remove(at: index)
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(with: result)
    }
}

// MARK: - State

extension SimulatedGPIOChip {
    struct Holder {
        enum Kind { case input, output, edges, asIs }
        var id: UInt64
        var kind: Kind
        var activeLow: Bool
        var bias: LineBias
        var consumer: String
    }

    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<EdgeEvent?, any Error>
        var timer: Task<Void, Never>?
    }

    /// A waiter to resume outside the lock.
    struct Delivery {
        var waiter: Waiter
        var event: EdgeEvent
        func resume() {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: event)
        }
    }

    struct LineState {
        var spec: LineSpec
        var high: Bool
        var holder: Holder?
        var pending: [EdgeEvent] = []
        var waiters: [Waiter] = []
        var history: [OutputChange] = []
    }

    struct State {
        var lines: [LineState]
        var nextID: UInt64 = 0

        /// Changes a level; returns the waiter to resume, if an edge found one.
        mutating func setLevel(_ offset: UInt32, high: Bool, at timestamp: UInt64) -> Delivery? {
            let index = Int(offset)
            let before = lines[index].high
            lines[index].high = high
            guard before != high, let holder = lines[index].holder, holder.kind == .edges else { return nil }
            let logicalAfter = high != holder.activeLow
            let event = EdgeEvent(edge: logicalAfter ? .rising : .falling, monotonicNanoseconds: timestamp)
            if !lines[index].waiters.isEmpty {
                return Delivery(waiter: lines[index].waiters.removeFirst(), event: event)
            }
            if lines[index].pending.count < SimulatedGPIOChip.eventQueueCapacity {
                lines[index].pending.append(event)
            }
            return nil
        }

        func info(_ offset: UInt32) -> GPIOLineInfo {
            let line = lines[Int(offset)]
            let direction: GPIOLineDirection =
                switch line.holder?.kind {
                case .output: .output
                case .input, .edges: .input
                case .asIs, nil: line.spec.direction
                }
            return GPIOLineInfo(
                offset: offset, name: line.spec.name, direction: direction,
                activeLow: line.holder?.activeLow ?? false, bias: line.holder?.bias ?? .asIs,
                used: line.holder != nil, consumer: line.holder?.consumer)
        }
    }
}
