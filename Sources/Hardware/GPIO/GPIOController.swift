/// A GPIO chip that hands out lines: the live `GPIOChip` (libgpiod) or the
/// `SimulatedGPIOChip`.
///
/// A requested line stays held (the kernel shows `consumer` as its user)
/// until the returned object is released; requesting a line someone else
/// holds fails with `GPIOError.lineBusy`. Values are logical: with
/// `activeLow` a line reads `true` when it is electrically low.
public protocol GPIOController: Sendable {
    associatedtype Input: DigitalInput
    associatedtype Output: DigitalOutput
    associatedtype EdgeInput: EdgeEventSource & DigitalInput

    /// The chip's name, e.g. `gpiochip0` or `simulated`.
    var name: String { get }

    /// The chip and all its lines as the kernel reports them now.
    func info() async throws -> GPIOChipInfo

    /// One line as the kernel reports it now; fails if the line does not exist.
    func lineInfo(_ line: GPIOLineSelector) async throws -> GPIOLineInfo

    /// Requests a line as an input.
    func requestInput(
        _ line: GPIOLineSelector, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> Input

    /// Requests a line as an output, driven to `initialValue` (logical) at once.
    func requestOutput(
        _ line: GPIOLineSelector, initialValue: Bool, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> Output

    /// Requests a line as it is, to read it: neither its direction nor the level an output
    /// drives is changed (an output reads back what it drives).
    func requestAsIs(_ line: GPIOLineSelector, activeLow: Bool, consumer: String) async throws -> Input

    /// Requests a line as an input that reports both edges.
    ///
    /// - Throws: `GPIOError.edgesNotSupported` when the line has no interrupt (read it by
    ///   polling: `requestEdgesOrPolling`).
    func requestEdgeEvents(
        _ line: GPIOLineSelector, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> EdgeInput
}

extension GPIOController {
    /// Requests an input with the daemon's defaults (active-high, bias as-is, consumer `lampd`).
    public func requestInput(
        _ line: GPIOLineSelector, activeLow: Bool = false, bias: LineBias = .asIs
    ) async throws -> Input {
        try await requestInput(line, activeLow: activeLow, bias: bias, consumer: GPIOConsumer.daemon)
    }

    /// Requests an output with the daemon's defaults (consumer `lampd`).
    public func requestOutput(
        _ line: GPIOLineSelector, initialValue: Bool, activeLow: Bool = false, bias: LineBias = .asIs
    ) async throws -> Output {
        try await requestOutput(
            line, initialValue: initialValue, activeLow: activeLow, bias: bias, consumer: GPIOConsumer.daemon)
    }

    /// Requests edge events with the daemon's defaults (consumer `lampd`).
    public func requestEdgeEvents(
        _ line: GPIOLineSelector, activeLow: Bool = false, bias: LineBias = .asIs
    ) async throws -> EdgeInput {
        try await requestEdgeEvents(line, activeLow: activeLow, bias: bias, consumer: GPIOConsumer.daemon)
    }
}

/// Consumer names this project shows in the kernel's line table.
public enum GPIOConsumer {
    /// The daemon.
    public static let daemon = "lampd"
    /// The technician's CLI.
    public static let cli = "lampctl"
}
