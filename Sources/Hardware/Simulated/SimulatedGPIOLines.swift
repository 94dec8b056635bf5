/// Holds one line of a `SimulatedGPIOChip`; releases it on deinit, like a real request.
final class SimulatedLineRequest: Sendable {
    let chip: SimulatedGPIOChip
    let id: UInt64
    let offset: UInt32
    let description: String

    init(chip: SimulatedGPIOChip, id: UInt64, offset: UInt32, description: String) {
        self.chip = chip
        self.id = id
        self.offset = offset
        self.description = description
    }

    deinit { chip.release(offset: offset, id: id) }

    func read() -> Bool { chip.logicalValue(offset: offset) }
    func write(_ value: Bool) throws { chip.write(offset: offset, id: id, value: value) }
}

/// A simulated line requested as an input.
public final class SimulatedInputLine: DigitalInput {
    private let request: SimulatedLineRequest
    init(_ request: SimulatedLineRequest) { self.request = request }

    /// `simulated:1 (CABINET_DOOR)`.
    public var description: String { request.description }
    public var offset: UInt32 { request.offset }
    public func read() async throws -> Bool { request.read() }
}

/// A simulated line requested as an output; writes are recorded by the chip.
public final class SimulatedOutputLine: DigitalOutput {
    private let request: SimulatedLineRequest
    init(_ request: SimulatedLineRequest) { self.request = request }

    /// `simulated:0 (LAMP_RELAY)`.
    public var description: String { request.description }
    public var offset: UInt32 { request.offset }
    public func write(_ value: Bool) async throws { try request.write(value) }
    public func read() async throws -> Bool { request.read() }
}

/// A simulated input that reports edges caused by `SimulatedGPIOChip.setInputLevel(_:high:)`.
public final class SimulatedEdgeInput: EdgeEventSource, DigitalInput {
    private let request: SimulatedLineRequest
    init(_ request: SimulatedLineRequest) { self.request = request }

    /// `simulated:1 (CABINET_DOOR)`.
    public var description: String { request.description }
    public var offset: UInt32 { request.offset }
    public func read() async throws -> Bool { request.read() }

    /// Returns a queued edge at once, else waits on the chip's clock for at most `timeout`.
    public func waitForEdge(timeout: Duration) async throws -> EdgeEvent? {
        // The line stays requested for the whole wait (the request is released on deinit).
        let event = try await request.chip.waitForEdge(offset: request.offset, timeout: timeout)
        withExtendedLifetime(request) {}
        return event
    }
}
