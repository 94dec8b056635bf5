import Foundation
import Ingest
import Lighting
import Uplink

/// Where the measured energy comes from.
public enum EnergySource: String, Sendable, Codable {
    /// The meter's cumulative energy register (`meter.energy`, joules): the sum of its steps.
    case energyCounter = "meter.energy"
    /// No energy register in the period: `meter.active_power` integrated over time (trapezoids).
    case activePower = "meter.active_power"
    /// Neither: measured is 0 and the dimming saving is not meaningful.
    case none
}

/// A pole's (or the city's) energy over a period, each saving next to the baseline it is
/// measured against (docs/energy-report.md): a saving without its baseline cannot be checked.
public struct EnergyFigures: Sendable, Equatable, Codable {
    /// The pole; nil for a city total.
    public var device: String?
    public var from: Date
    public var to: Date
    /// What the meter measured (`meter.energy`, or `meter.active_power` integrated: `measuredFrom`).
    public var measuredKilowattHours: Double
    /// Hours the lamp was lit (level above 0). Pole-hours in a city total.
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
    /// Where `measuredKilowattHours` comes from (a city total: the least direct of its poles').
    public var measuredFrom: EnergySource
    /// Hours of the period whose lamp level is unknown (no level event yet): not counted as burning.
    public var unknownLevelHours: Double
    /// Drops of the energy register that were not wraps (counted from 0 again).
    public var counterResets: Int
    /// The rated power used (W); the sum of the poles' in a city total.
    public var ratedPowerWatts: Double
    /// Poles summed (1 for a pole).
    public var poles: Int

    public init(
        device: String?, from: Date, to: Date, measuredKilowattHours: Double, burningHours: Double,
        fullPowerSameHoursKilowattHours: Double, dimmingSavingKilowattHours: Double, duskToDawnHours: Double,
        trimmingSavingKilowattHours: Double, duskToDawnFullPowerKilowattHours: Double,
        measuredFrom: EnergySource = .none, unknownLevelHours: Double = 0, counterResets: Int = 0,
        ratedPowerWatts: Double = 0, poles: Int = 1
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
        self.measuredFrom = measuredFrom
        self.unknownLevelHours = unknownLevelHours
        self.counterResets = counterResets
        self.ratedPowerWatts = ratedPowerWatts
        self.poles = poles
    }

    /// The baselines, as the report prints them next to the savings.
    public static let dimmingBaselineText = "same burning hours at the rated power"
    public static let trimmingBaselineText = "dusk-to-dawn hours at the rated power; dusk to dawn = \(DuskToDawn.baselineText)"
}

/// One pole's meter readings and level changes over a period, in any order: what its figures are
/// computed from. Holds one pole's period (the fleet report fills one pole at a time).
struct PoleEnergyAccumulator {
    let from: Double
    let to: Double
    private var energyJoules: [(seconds: Double, value: Double)] = []
    private var powerWatts: [(seconds: Double, value: Double)] = []
    private var levels: [(seconds: Double, value: Double)] = []
    /// The newest level before `from`.
    private var levelBefore: (seconds: Double, value: Double)?

    init(from: Double, to: Double) {
        self.from = from
        self.to = to
    }

    mutating func reading(_ channel: String, value: Double, at seconds: Double) {
        guard value.isFinite, seconds >= from, seconds <= to else { return }
        if channel == "meter.energy" { energyJoules.append((seconds, value)) }
        if channel == "meter.active_power" { powerWatts.append((seconds, value)) }
    }

    mutating func level(_ percent: Double, at seconds: Double) {
        guard percent.isFinite, seconds <= to else { return }
        if seconds < from {
            if levelBefore.map({ $0.seconds <= seconds }) ?? true { levelBefore = (seconds, percent) }
        } else {
            levels.append((seconds, percent))
        }
    }

    mutating func record(_ record: BatchRecord, at seconds: Double) {
        switch record.kind {
        case .reading:
            if let channel = record.channel, let value = PoleRecords.number(record.value) { reading(channel, value: value, at: seconds) }
        case .event(let kind, _):
            if PoleHistory.isLevelEvent(kind), let value = PoleRecords.number(record.value) { level(value, at: seconds) }
        }
    }

    func figures(pole: Pole, duskToDawnHours: Double) -> EnergyFigures {
        let (measuredWattHours, source, resets) = measured()
        let (burningSeconds, unknownSeconds) = burning()
        let kilowatts = pole.ratedPowerWatts / 1_000
        let burningHours = burningSeconds / 3_600
        let measured = measuredWattHours / 1_000
        let fullPowerSameHours = burningHours * kilowatts
        return EnergyFigures(
            device: pole.device, from: Date(timeIntervalSince1970: from), to: Date(timeIntervalSince1970: to),
            measuredKilowattHours: measured, burningHours: burningHours,
            fullPowerSameHoursKilowattHours: fullPowerSameHours, dimmingSavingKilowattHours: fullPowerSameHours - measured,
            duskToDawnHours: duskToDawnHours, trimmingSavingKilowattHours: (duskToDawnHours - burningHours) * kilowatts,
            duskToDawnFullPowerKilowattHours: duskToDawnHours * kilowatts, measuredFrom: source,
            unknownLevelHours: unknownSeconds / 3_600, counterResets: resets, ratedPowerWatts: pole.ratedPowerWatts, poles: 1)
    }

    /// Watt-hours: the register's steps (resets counted from 0, as Lighting's `EnergyCounter`),
    /// else the active power integrated by trapezoids.
    private func measured() -> (wattHours: Double, source: EnergySource, resets: Int) {
        if energyJoules.count >= 2 {
            var counter = EnergyCounter()
            for sample in energyJoules.sorted(by: { $0.seconds < $1.seconds }) { counter.add(readingWattHours: sample.value / 3_600) }
            return (counter.totalWattHours, .energyCounter, counter.resets)
        }
        if powerWatts.count >= 2 {
            let sorted = powerWatts.sorted { $0.seconds < $1.seconds }
            var joules = 0.0
            for (a, b) in zip(sorted, sorted.dropFirst()) { joules += (a.value + b.value) / 2 * (b.seconds - a.seconds) }
            return (joules / 3_600, .activePower, 0)
        }
        return (0, .none, 0)
    }

    /// Seconds lit (level above 0) and seconds whose level is unknown, of [from, to]: the level
    /// is a step function of the level events; before the first one it is `levelBefore`'s, or unknown.
    private func burning() -> (lit: Double, unknown: Double) {
        var current = levelBefore?.value
        var since = from
        var lit = 0.0
        var unknown = 0.0
        func close(at end: Double) {
            switch current {
            case nil: unknown += end - since
            case let level? where level > 0: lit += end - since
            default: break
            }
        }
        for change in levels.sorted(by: { $0.seconds < $1.seconds }) {
            close(at: change.seconds)
            current = change.value
            since = change.seconds
        }
        close(at: to)
        return (lit, unknown)
    }
}

/// Computes `EnergyFigures` from a pole's history or from the store (docs/energy-report.md).
public enum EnergyReport {
    /// The longest period a report covers.
    public static let maximumPeriodSeconds: Double = 366 * 86_400

    /// The pole's figures over `history`'s period.
    public static func figures(pole: Pole, history: PoleHistory) -> EnergyFigures {
        let from = history.from.timeIntervalSince1970
        let to = history.to.timeIntervalSince1970
        var accumulator = PoleEnergyAccumulator(from: from, to: to)
        for reading in history.readings {
            accumulator.reading(reading.channel, value: reading.value, at: reading.time.timeIntervalSince1970)
        }
        for event in [history.levelBefore].compactMap({ $0 }) + history.events where PoleHistory.isLevelEvent(event.kind) {
            if let value = event.value { accumulator.level(value, at: event.time.timeIntervalSince1970) }
        }
        let dark = DuskToDawn.hours(latitudeDegrees: pole.latitudeDegrees, longitudeDegrees: pole.longitudeDegrees, from: from, to: to)
        return accumulator.figures(pole: pole, duskToDawnHours: dark)
    }

    /// The city's total of `figures` (device nil): energies summed, hours summed as pole-hours.
    public static func total(_ figures: [EnergyFigures], from: Date, to: Date) -> EnergyFigures {
        var total = EnergyFigures(
            device: nil, from: from, to: to, measuredKilowattHours: 0, burningHours: 0, fullPowerSameHoursKilowattHours: 0,
            dimmingSavingKilowattHours: 0, duskToDawnHours: 0, trimmingSavingKilowattHours: 0,
            duskToDawnFullPowerKilowattHours: 0, measuredFrom: .energyCounter, poles: 0)
        for pole in figures where pole.device != nil {
            total.measuredKilowattHours += pole.measuredKilowattHours
            total.burningHours += pole.burningHours
            total.fullPowerSameHoursKilowattHours += pole.fullPowerSameHoursKilowattHours
            total.dimmingSavingKilowattHours += pole.dimmingSavingKilowattHours
            total.duskToDawnHours += pole.duskToDawnHours
            total.trimmingSavingKilowattHours += pole.trimmingSavingKilowattHours
            total.duskToDawnFullPowerKilowattHours += pole.duskToDawnFullPowerKilowattHours
            total.unknownLevelHours += pole.unknownLevelHours
            total.counterResets += pole.counterResets
            total.ratedPowerWatts += pole.ratedPowerWatts
            total.poles += 1
            if pole.measuredFrom == .none || (pole.measuredFrom == .activePower && total.measuredFrom == .energyCounter) {
                total.measuredFrom = pole.measuredFrom
            }
        }
        if total.poles == 0 { total.measuredFrom = .none }
        return total
    }

    /// Every inventory pole's figures over [from, to], in the inventory's order, read from the
    /// store in one pass: the store hands batches device by device, and one pole's readings are
    /// held only until its figures are computed (a city's day without its readings in memory).
    /// A pole without data gets figures with nothing measured and its level unknown.
    public static func fleet(inventory: PoleInventory, from: Date, to: Date, store: any BatchStore) async throws(IngestError)
        -> [EnergyFigures]
    {
        let period = try PolePeriod(from: from, to: to, maximumSeconds: maximumPeriodSeconds)
        var results: [String: EnergyFigures] = [:]
        var darkness = DuskToDawnCache(from: period.from, to: period.to)
        var current: (device: String, accumulator: PoleEnergyAccumulator)?
        func finish() {
            guard let (device, accumulator) = current, let pole = inventory[device] else { return }
            results[device] = accumulator.figures(pole: pole, duskToDawnHours: darkness.hours(pole))
            current = nil
        }
        // One pole: only its batches are read.
        let device = inventory.poles.count == 1 ? inventory.poles.first?.device : nil
        try await PoleRecords.forEach(
            device: device, period: period, lookbackSeconds: PoleHistory.levelLookbackSeconds, store: store,
            includes: { inventory[$0] != nil }
        ) { device, seconds, record in
            if current?.device != device {
                finish()
                current = (device, PoleEnergyAccumulator(from: period.from, to: period.to))
            }
            current?.accumulator.record(record, at: seconds)
        }
        finish()
        return inventory.poles.map { pole in
            results[pole.device]
                ?? PoleEnergyAccumulator(from: period.from, to: period.to).figures(pole: pole, duskToDawnHours: darkness.hours(pole))
        }
    }

    /// The figures as CSV (docs/energy-report.md): a header with units, one line per pole then
    /// `city` (the total of the poles given, hours as pole-hours); `labels` by device (the device
    /// id when absent). Fixed decimals, no locale; labels quoted per RFC 4180 and a leading
    /// `=`, `+`, `-`, `@` (a spreadsheet formula) neutralised with a `'`.
    public static func csv(_ figures: [EnergyFigures], labels: [String: String]) -> String {
        let poles = figures.filter { $0.device != nil }
        let from = poles.map(\.from).min() ?? figures.first?.from ?? Date(timeIntervalSince1970: 0)
        let to = poles.map(\.to).max() ?? figures.first?.to ?? Date(timeIntervalSince1970: 0)
        let city = figures.first { $0.device == nil } ?? total(poles, from: from, to: to)
        var lines = [csvHeader]
        for pole in poles {
            let device = pole.device ?? ""
            lines.append(csvLine(pole, device: device, label: labels[device] ?? device))
        }
        lines.append(csvLine(city, device: "city", label: "city (\(city.poles) poles; hours are pole-hours)"))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The figures as a table a person reads: one line per pole then the city, each saving
    /// followed by its baseline, and the baselines spelled out below.
    public static func table(_ figures: [EnergyFigures], labels: [String: String]) -> String {
        let poles = figures.filter { $0.device != nil }
        let from = poles.map(\.from).min() ?? Date(timeIntervalSince1970: 0)
        let to = poles.map(\.to).max() ?? Date(timeIntervalSince1970: 0)
        let city = figures.first { $0.device == nil } ?? total(poles, from: from, to: to)
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
        }
        func number(_ value: Double, _ decimals: Int, _ width: Int) -> String {
            let text = CSVText.decimal(value, decimals)
            return String(repeating: " ", count: max(0, width - text.count)) + text
        }
        var lines = [
            "energy \(CSVText.utc(from)) … \(CSVText.utc(to)) (UTC)",
            pad("pole", 16) + pad("label", 20) + "   rated W  measured kWh  from                burning h  unknown h"
                + "  dimming saving kWh (baseline kWh)  dusk-dawn h  trimming saving kWh (baseline kWh)",
        ]
        func line(_ f: EnergyFigures, device: String, label: String) -> String {
            pad(device, 16) + pad(label.unicodeScalars.contains { $0.properties.generalCategory == .control } ? "?" : label, 20)
                + number(f.ratedPowerWatts, 1, 10) + number(f.measuredKilowattHours, 3, 14) + "  " + pad(f.measuredFrom.rawValue, 18)
                + number(f.burningHours, 2, 11) + number(f.unknownLevelHours, 2, 11)
                + number(f.dimmingSavingKilowattHours, 3, 20) + " (" + number(f.fullPowerSameHoursKilowattHours, 3, 12) + ")"
                + number(f.duskToDawnHours, 2, 13)
                + number(f.trimmingSavingKilowattHours, 3, 21) + " (" + number(f.duskToDawnFullPowerKilowattHours, 3, 12) + ")"
        }
        for pole in poles {
            let device = pole.device ?? ""
            lines.append(line(pole, device: device, label: labels[device] ?? device))
        }
        lines.append(line(city, device: "city", label: "\(city.poles) poles"))
        lines += [
            "",
            "dimming saving  = baseline − measured; baseline: \(EnergyFigures.dimmingBaselineText) (rated W × burning h)",
            "trimming saving = (dusk-to-dawn h − burning h) × rated W; baseline: \(EnergyFigures.trimmingBaselineText)",
            "burning h: level above 0 %; unknown h: no level known (not counted as burning); city hours are pole-hours.",
            "A negative saving is a loss (e.g. a lamp burning by day). See docs/energy-report.md.",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The same, labelled with the device ids.
    public static func csv(_ figures: [EnergyFigures]) -> String { csv(figures, labels: [:]) }

    public static let csvHeader = [
        "device", "label", "from_utc", "to_utc", "rated_power_w", "measured_kwh", "measured_from", "burning_h",
        "unknown_level_h", "baseline_full_power_same_hours_kwh", "dimming_saving_kwh", "dusk_to_dawn_h",
        "baseline_dusk_to_dawn_full_power_kwh", "trimming_saving_kwh", "counter_resets",
    ].joined(separator: ",")

    static func csvLine(_ f: EnergyFigures, device: String, label: String) -> String {
        [
            device, CSVText.field(label), CSVText.utc(f.from), CSVText.utc(f.to), CSVText.decimal(f.ratedPowerWatts, 1),
            CSVText.decimal(f.measuredKilowattHours, 3), f.measuredFrom.rawValue, CSVText.decimal(f.burningHours, 3),
            CSVText.decimal(f.unknownLevelHours, 3), CSVText.decimal(f.fullPowerSameHoursKilowattHours, 3),
            CSVText.decimal(f.dimmingSavingKilowattHours, 3), CSVText.decimal(f.duskToDawnHours, 3),
            CSVText.decimal(f.duskToDawnFullPowerKilowattHours, 3), CSVText.decimal(f.trimmingSavingKilowattHours, 3),
            "\(f.counterResets)",
        ].joined(separator: ",")
    }
}

/// Dusk-to-dawn hours per position, computed once per position rounded to 0.01° (about 1 km,
/// a few seconds of sunset): a city's poles share a handful of computations.
struct DuskToDawnCache {
    let from: Double
    let to: Double
    private var hoursByPlace: [Int64: Double] = [:]

    init(from: Double, to: Double) {
        self.from = from
        self.to = to
    }

    mutating func hours(_ pole: Pole) -> Double {
        let latitude = (pole.latitudeDegrees * 100).rounded()
        let longitude = (pole.longitudeDegrees * 100).rounded()
        guard latitude.isFinite, longitude.isFinite, abs(latitude) <= 9_000, abs(longitude) <= 18_000 else { return 0 }
        let key = Int64(latitude) * 100_000 + Int64(longitude)
        if let hours = hoursByPlace[key] { return hours }
        let hours = DuskToDawn.hours(latitudeDegrees: latitude / 100, longitudeDegrees: longitude / 100, from: from, to: to)
        hoursByPlace[key] = hours
        return hours
    }
}

/// Text for CSV files a spreadsheet opens.
enum CSVText {
    /// A fixed number of decimals, '.' as separator whatever the locale, no "-0.000".
    static func decimal(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "" }
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(text.dropFirst()) : text
    }

    /// ISO 8601 UTC to the second.
    static func utc(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// A field quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-`, `@`,
    /// tab or carriage return (a formula to a spreadsheet) prefixed with `'`.
    static func field(_ text: String) -> String {
        var text = text
        if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || text.hasPrefix(" ") || text.hasSuffix(" ") else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
