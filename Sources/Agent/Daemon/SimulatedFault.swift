import Hardware

/// A fault the simulated board can start with (`lampd --simulate --simulate-fault NAME`),
/// so `lampctl selftest`, `status` and the alarms can be seen failing on purpose.
public enum SimulatedFault: String, Sendable, CaseIterable {
    /// The meter (Modbus unit 1) never answers, like a unit with a broken wire.
    case meterSilent = "meter-silent"
    /// Mains is lost: the meter reads 0 V, `MAINS_PRESENT` opens.
    case mainsLost = "mains-lost"
    /// The lamp's LED module draws only standby power when switched on.
    case lampFailure = "lamp-failure"
    /// The cabinet's DI module (Modbus unit 2) never answers: with `[modbus.traffic_box]`, the
    /// contacts are unknown and `cabinet.module-missing` is raised.
    case cabinetModuleSilent = "cabinet-module-silent"

    /// Puts the fault on `board`.
    public func apply(to board: SimulatedBoard) async throws {
        switch self {
        case .meterSilent: await board.setMeterAnswering(false)
        case .mainsLost: try board.setMainsPresent(false)
        case .lampFailure: board.setLampFault(.ledFailure, active: true)
        case .cabinetModuleSilent: await board.setCabinetModuleAnswering(false)
        }
    }

    /// "meter-silent, mains-lost, lamp-failure, …", for help and errors.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
