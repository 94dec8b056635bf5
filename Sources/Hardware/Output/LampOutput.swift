import SystemSupport

/// The seam between the lighting service and whatever switches and dims the
/// lamp (STYLE.md rule 12): a relay line, a relay and a PWM dim input, or a
/// Modbus gateway (DALI, 0–10 V).
///
/// Levels are percent 0–100. 0 % switches the lamp off (relay open, gateway
/// at 0); any level above 0 switches it on at that level, raised to the
/// output's minimum dim level where it has one. Implementations do not ramp:
/// the lighting service calls `setLevel` at each step of a ramp.
public protocol LampOutput: Sendable {
    /// Where the output is, for messages: e.g. `relay simulated:0 (LAMP_RELAY)`.
    var description: String { get }
    /// Switches and dims the lamp to `percent` (0–100; 0 = off, relay open).
    ///
    /// - Throws: `LampOutputError.invalidLevel` for a level outside 0–100, or
    ///   the hardware's error (`GPIOError`, `PWMError`, `ModbusError`).
    func setLevel(percent: Double) async throws
    /// What the output is set to now, read back from the hardware where it can be.
    func readBack() async throws -> LampOutputState
}

/// What a lamp output is set to.
public struct LampOutputState: Sendable, Hashable, Codable {
    /// Whether the lamp is switched on (relay closed, gateway level above 0).
    public var switchedOn: Bool
    /// The dim level the lamp is driven at, percent 0–100 (0 when switched off;
    /// after the minimum dim level was applied, so it may differ from what was asked).
    public var levelPercent: Double

    public init(switchedOn: Bool, levelPercent: Double) {
        self.switchedOn = switchedOn
        self.levelPercent = levelPercent
    }
}

/// Why a lamp output refused a level.
public struct LampOutputError: HardwareError, Hashable {
    public let code: String
    public let description: String

    /// A level outside 0–100 % or not a number.
    public static func invalidLevel(_ percent: Double, output: String) -> LampOutputError {
        LampOutputError(code: "lamp-output.invalid-level",
                        description: "\(output): lamp level \(percent) % is not within 0–100 %")
    }
}

/// The level an output really drives for a requested level: 0 stays 0 (off),
/// anything above 0 is raised to `minimumPercent`.
enum LampLevel {
    static func effective(_ percent: Double, minimumPercent: Double, output: String) throws -> Double {
        guard percent.isFinite, (0...100).contains(percent) else {
            throw LampOutputError.invalidLevel(percent, output: output)
        }
        guard percent > 0 else { return 0 }
        return max(percent, min(minimumPercent, 100))
    }
}
