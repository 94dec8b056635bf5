/// The seams between the agent and GPIO lines (STYLE.md rule 12).
///
/// Live implementations sit on libgpiod v1.6; simulated ones on the
/// simulated board. Values are *logical*: an active-low line reads `true`
/// when its electrical level is low.

/// A GPIO line requested as an input.
public protocol DigitalInput: Sendable {
    /// Where the line is, for messages: e.g. `gpiochip0:17 (DOOR)`.
    var description: String { get }
    /// Reads the line's logical value now.
    func read() async throws -> Bool
}

/// A GPIO line requested as an output.
public protocol DigitalOutput: Sendable {
    /// Where the line is, for messages.
    var description: String { get }
    /// Drives the line to a logical value.
    func write(_ value: Bool) async throws
    /// The logical value last driven (read back from the line where possible).
    func read() async throws -> Bool
}

/// A GPIO input that reports edges with the kernel's timestamps.
public protocol EdgeEventSource: Sendable {
    /// Waits for the next edge, or returns `nil` when `timeout` passes first.
    func waitForEdge(timeout: Duration) async throws -> EdgeEvent?
}

/// One edge seen on an input line.
public struct EdgeEvent: Sendable, Hashable, Codable {
    /// Which way the logical value went.
    public enum Edge: String, Sendable, Hashable, Codable {
        /// Logical value went from `false` to `true`.
        case rising
        /// Logical value went from `true` to `false`.
        case falling
    }

    public var edge: Edge
    /// When the kernel saw the edge, in nanoseconds of `CLOCK_MONOTONIC`
    /// (libgpiod v1 event timestamps use that clock).
    public var monotonicNanoseconds: UInt64

    public init(edge: Edge, monotonicNanoseconds: UInt64) {
        self.edge = edge
        self.monotonicNanoseconds = monotonicNanoseconds
    }

    /// The logical value of the line right after this edge.
    public var valueAfter: Bool { edge == .rising }
}

/// Internal pull resistor configuration. Needs kernel 5.5 or later on the
/// board; older kernels reject anything but `.asIs`.
public enum LineBias: String, Sendable, Hashable, Codable, CaseIterable {
    case asIs = "as-is"
    case disabled
    case pullUp = "pull-up"
    case pullDown = "pull-down"
}
