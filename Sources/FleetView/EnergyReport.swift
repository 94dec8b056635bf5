import Foundation
import Ingest

/// A pole's (or the city's) energy over a period, each saving next to the baseline it is
/// measured against (docs/live-view.md): a saving without its baseline cannot be checked.
public struct EnergyFigures: Sendable, Equatable, Codable {
    /// The pole; nil for a city total.
    public var device: String?
    public var from: Date
    public var to: Date
    /// What the meter measured (`meter.energy`).
    public var measuredKilowattHours: Double
    /// Hours the lamp was lit (level above 0).
    public var burningHours: Double
    /// Baseline of the dimming saving: the same burning hours at the rated power.
    public var fullPowerSameHoursKilowattHours: Double
    /// `fullPowerSameHoursKilowattHours − measuredKilowattHours`.
    public var dimmingSavingKilowattHours: Double
    /// Baseline of the trimming saving: hours from dusk to dawn at the pole's position in the period.
    public var duskToDawnHours: Double
    /// `(duskToDawnHours − burningHours) × rated power`.
    public var trimmingSavingKilowattHours: Double
    /// Dusk to dawn at the rated power: what a lamp without control would have used.
    public var duskToDawnFullPowerKilowattHours: Double

    public init(
        device: String?, from: Date, to: Date, measuredKilowattHours: Double, burningHours: Double,
        fullPowerSameHoursKilowattHours: Double, dimmingSavingKilowattHours: Double, duskToDawnHours: Double,
        trimmingSavingKilowattHours: Double, duskToDawnFullPowerKilowattHours: Double
    ) {
        self.device = device
        self.from = from
        self.to = to
        self.measuredKilowattHours = measuredKilowattHours
        self.burningHours = burningHours
        self.fullPowerSameHoursKilowattHours = fullPowerSameHoursKilowattHours
        self.dimmingSavingKilowattHours = dimmingSavingKilowattHours
        self.duskToDawnHours = duskToDawnHours
        self.trimmingSavingKilowattHours = trimmingSavingKilowattHours
        self.duskToDawnFullPowerKilowattHours = duskToDawnFullPowerKilowattHours
    }
}

/// Computes `EnergyFigures` from a pole's history (docs/live-view.md "Energy").
public enum EnergyReport {
    /// The pole's figures over `history`'s period. (Contract only: the computation lands with the energy work.)
    public static func figures(pole: Pole, history: PoleHistory) -> EnergyFigures {
        EnergyFigures(
            device: pole.device, from: history.from, to: history.to, measuredKilowattHours: 0, burningHours: 0,
            fullPowerSameHoursKilowattHours: 0, dimmingSavingKilowattHours: 0, duskToDawnHours: 0,
            trimmingSavingKilowattHours: 0, duskToDawnFullPowerKilowattHours: 0)
    }

    /// The city's total of `figures` (device nil). (Contract only.)
    public static func total(_ figures: [EnergyFigures], from: Date, to: Date) -> EnergyFigures {
        EnergyFigures(
            device: nil, from: from, to: to, measuredKilowattHours: 0, burningHours: 0,
            fullPowerSameHoursKilowattHours: 0, dimmingSavingKilowattHours: 0, duskToDawnHours: 0,
            trimmingSavingKilowattHours: 0, duskToDawnFullPowerKilowattHours: 0)
    }

    /// Every inventory pole's figures over [from, to], read from the store in one pass (a city's
    /// day without holding its readings in memory). (Contract only.)
    public static func fleet(inventory: PoleInventory, from: Date, to: Date, store: any BatchStore) async throws(IngestError)
        -> [EnergyFigures]
    {
        []
    }

    /// The same figures as CSV, one line per pole then the city total, baselines in their own columns. (Contract only.)
    public static func csv(_ figures: [EnergyFigures]) -> String { "" }
}
