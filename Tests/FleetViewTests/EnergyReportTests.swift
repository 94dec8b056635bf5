@testable import FleetView
import Foundation
import Ingest
import Lighting
import Telemetry
import Testing

@Suite struct EnergyReportTests {
    /// Brussels, rated 60 W.
    static let pole = Pole(device: "pole-7", label: "Rue Royale, 12", latitudeDegrees: 50.85, longitudeDegrees: 4.35, ratedPowerWatts: 60)
    /// 2026-12-06T12:00:00Z … 2026-12-07T12:00:00Z.
    static let from = 1_796_558_400.0
    static let to = from + 86_400
    static func at(_ hours: Double, _ minutes: Double = 0) -> Double { from + (hours - 12) * 3_600 + minutes * 60 }

    /// The profile (UTC): off until 15:50, 100 % to 21:00 (22:00 local), 50 % to 04:00 (05:00
    /// local), 100 % to 07:20, then off. Level changes as the board records them, and the meter's
    /// register every 10 minutes, consistent with it (the power × time up to that moment).
    static func sendProfile(_ board: inout EnergyTestBoard, to store: any BatchStore) async throws {
        let changes: [(Double, Double)] = [(at(15, 50), 100), (at(21), 50), (at(28), 100), (at(31, 20), 0)]
        board.level(0, at: at(7, 20))  // this morning, before the period: off
        for (time, level) in changes { board.level(level, at: time) }
        func watts(_ t: Double) -> Double { changes.last { $0.0 <= t }.map { $0.1 * 0.6 } ?? 0 }
        var joules = 5_000_000.0
        var t = from
        while t <= to {
            board.reading("meter.energy", joules, unit: .joule, at: t)
            board.reading("meter.active_power", watts(t), unit: .watt, at: t)
            // The power is constant within each 10 minutes (every change is on a 10-minute mark).
            joules += watts(t) * 600
            t += 600
        }
        try await board.send(to: store, receivedAt: Date(timeIntervalSince1970: to + 60))
    }

    @Test func aKnownDimmingProfileGivesTheFiguresComputedByHand() async throws {
        try await withTemporaryStore { store in
            var board = try EnergyTestBoard(device: "pole-7", seedByte: 7)
            try await Self.sendProfile(&board, to: store)
            let history = try await PoleHistory.load(
                device: "pole-7", from: Date(timeIntervalSince1970: Self.from), to: Date(timeIntervalSince1970: Self.to), store: store)
            let figures = EnergyReport.figures(pole: Self.pole, history: history)

            // By hand: lit 15:50 → 07:20 = 15 h 30 min.
            let burning = 15.5
            // 100 % × 60 W for 5 h 10 min = 310 Wh; 50 % (30 W) for 7 h = 210 Wh; 100 % for 3 h 20 min = 200 Wh.
            let measured = (310.0 + 210 + 200) / 1_000  // 0.72 kWh
            let fullPowerSameHours = 15.5 * 60 / 1_000  // 0.93 kWh
            let dimmingSaving = 0.93 - 0.72  // 0.21 kWh: the 7 h at 50 %, 7 × 30 Wh
            // Dusk to dawn: sunset on the 6th to sunrise on the 7th at the pole (published for
            // Brussels: 16:39 and 08:30 local, 15:39 and 07:30 UTC: about 15 h 51 min).
            let calculator = SolarCalculator(location: GeoLocation(latitudeDegrees: 50.85, longitudeDegrees: 4.35)!)
            let sunset = try #require(calculator.firstTime(of: .sunset, from: Date(timeIntervalSince1970: Self.from), to: Date(timeIntervalSince1970: Self.to)))
            let sunrise = try #require(calculator.firstTime(of: .sunrise, from: sunset, to: Date(timeIntervalSince1970: Self.to)))
            let duskToDawn = sunrise.timeIntervalSince(sunset) / 3_600
            #expect(abs(duskToDawn - (15 + 51.0 / 60)) < 3.0 / 60)
            let duskToDawnFullPower = duskToDawn * 60 / 1_000
            let trimmingSaving = (duskToDawn - 15.5) * 60 / 1_000  // about 0.021 kWh: 21 min trimmed

            #expect(figures.measuredFrom == .energyCounter)
            #expect(abs(figures.measuredKilowattHours - measured) < 1e-9)
            #expect(abs(figures.burningHours - burning) < 1e-9)
            #expect(abs(figures.fullPowerSameHoursKilowattHours - fullPowerSameHours) < 1e-9)
            #expect(abs(figures.dimmingSavingKilowattHours - dimmingSaving) < 1e-9)
            #expect(abs(figures.duskToDawnHours - duskToDawn) < 1e-9)
            #expect(abs(figures.trimmingSavingKilowattHours - trimmingSaving) < 1e-9)
            #expect(abs(figures.duskToDawnFullPowerKilowattHours - duskToDawnFullPower) < 1e-9)
            #expect(figures.unknownLevelHours == 0)
            #expect(figures.counterResets == 0)

            // The city report reads the same figures in one pass over the store.
            let inventory = PoleInventory(poles: [Self.pole, Pole(device: "never-seen", label: "=cmd|' /C calc'!A0", latitudeDegrees: 50.85, longitudeDegrees: 4.35, ratedPowerWatts: 40)])
            let fleet = try await EnergyReport.fleet(
                inventory: inventory, from: Date(timeIntervalSince1970: Self.from), to: Date(timeIntervalSince1970: Self.to), store: store)
            #expect(fleet.count == 2)
            #expect(fleet[0] == figures)
            #expect(fleet[1].measuredFrom == .none && fleet[1].unknownLevelHours == 24)
            let csv = EnergyReport.csv(fleet, labels: ["pole-7": Self.pole.label, "never-seen": "=cmd|' /C calc'!A0"])
            let lines = csv.split(separator: "\n").map(String.init)
            #expect(lines.count == 4)
            #expect(lines[0] == EnergyReport.csvHeader)
            #expect(lines[1].hasPrefix("pole-7,\"Rue Royale, 12\",2026-12-06T12:00:00Z,2026-12-07T12:00:00Z,60.0,0.720,meter.energy,15.500,0.000,0.930,0.210,"))
            #expect(lines[2].hasPrefix("never-seen,'=cmd|' /C calc'!A0,"))
            #expect(lines[3].hasPrefix("city,city (2 poles; hours are pole-hours),"))
            let city = EnergyReport.total(fleet, from: Date(timeIntervalSince1970: Self.from), to: Date(timeIntervalSince1970: Self.to))
            #expect(abs(city.duskToDawnHours - 2 * duskToDawn) < 1e-9)  // pole-hours
            #expect(city.measuredFrom == .none)
        }
    }

    @Test func aCounterResetCountsFromZeroAndAWrongDayBurnerShowsALoss() {
        // 09:00 → 15:00 UTC on 2026-12-06 in Brussels: daylight until sunset at about 15:39.
        let from = Self.at(9)
        let to = Self.at(15)
        let readings = [
            HistoryReading(time: Date(timeIntervalSince1970: Self.at(9)), channel: "meter.energy", value: 1_000_000),
            HistoryReading(time: Date(timeIntervalSince1970: Self.at(11)), channel: "meter.energy", value: 1_432_000),  // +432 kJ = 120 Wh
            HistoryReading(time: Date(timeIntervalSince1970: Self.at(12)), channel: "meter.energy", value: 36_000),  // reset: +36 kJ = 10 Wh
            HistoryReading(time: Date(timeIntervalSince1970: Self.at(14)), channel: "meter.energy", value: 432_000),  // +396 kJ = 110 Wh
        ]
        let events = [
            HistoryEvent(time: Date(timeIntervalSince1970: Self.at(10)), kind: "lamp.level", severity: "info", message: "", value: 100),
            HistoryEvent(time: Date(timeIntervalSince1970: Self.at(14)), kind: "lamp.restored", severity: "info", message: "", value: 0),
        ]
        let history = PoleHistory(
            device: "pole-7", from: Date(timeIntervalSince1970: from), to: Date(timeIntervalSince1970: to), readings: readings, events: events)
        let figures = EnergyReport.figures(pole: Self.pole, history: history)
        #expect(abs(figures.measuredKilowattHours - 0.240) < 1e-9)  // 120 + 10 + 110 Wh
        #expect(figures.counterResets == 1)
        #expect(figures.unknownLevelHours == 1)  // 09:00 → 10:00: no level known
        #expect(figures.burningHours == 4)  // 10:00 → 14:00
        #expect(figures.duskToDawnHours == 0)
        #expect(abs(figures.trimmingSavingKilowattHours - (0 - 4) * 0.06) < 1e-9)  // −0.24 kWh: a loss, not clamped
        #expect(abs(figures.dimmingSavingKilowattHours - (0.24 - 0.24)) < 1e-9)
    }

    @Test func withoutAnEnergyRegisterThePowerIsIntegratedAndWithoutDataNothingIsMade() {
        let from = Self.at(20)
        let readings = [0.0, 1, 2].map { HistoryReading(time: Date(timeIntervalSince1970: from + $0 * 3_600), channel: "meter.active_power", value: 30) }
        let history = PoleHistory(
            device: "pole-7", from: Date(timeIntervalSince1970: from), to: Date(timeIntervalSince1970: from + 7_200), readings: readings,
            events: [], levelBefore: HistoryEvent(time: Date(timeIntervalSince1970: from - 600), kind: "lamp.level", severity: "info", message: "", value: 50))
        let figures = EnergyReport.figures(pole: Self.pole, history: history)
        #expect(figures.measuredFrom == .activePower)
        #expect(abs(figures.measuredKilowattHours - 2 * 30 / 1_000) < 1e-9)  // 2 h × 30 W
        #expect(figures.burningHours == 2)  // at 50 % since before the period
        #expect(abs(figures.dimmingSavingKilowattHours - (2 * 0.06 - 0.06)) < 1e-9)

        let empty = EnergyReport.figures(
            pole: Self.pole, history: PoleHistory(device: "pole-7", from: Date(timeIntervalSince1970: from), to: Date(timeIntervalSince1970: from + 7_200), readings: [], events: []))
        #expect(empty.measuredFrom == .none && empty.measuredKilowattHours == 0 && empty.burningHours == 0 && empty.unknownLevelHours == 2)
    }

    @Test func historyIsBoundedAndRefusesABadPeriod() async throws {
        try await withTemporaryStore { store in
            var board = try EnergyTestBoard(device: "pole-7", seedByte: 7)
            try await Self.sendProfile(&board, to: store)
            let from = Date(timeIntervalSince1970: Self.from)
            let history = try await PoleHistory.load(device: "pole-7", from: from, to: Date(timeIntervalSince1970: Self.at(13)), store: store)
            // 12:00 … 13:00 inclusive, every 10 minutes: 7 of each channel; the level from yesterday.
            #expect(history.readings.count == 14)
            #expect(history.readings.map(\.time) == history.readings.map(\.time).sorted())
            #expect(history.events.isEmpty)
            #expect(history.levelBefore?.value == 0)
            await #expect(throws: IngestError.self) { _ = try await PoleHistory.load(device: "pole-7", from: from, to: from, store: store) }
            await #expect(throws: IngestError.self) {
                _ = try await PoleHistory.load(device: "pole-7", from: from, to: from.addingTimeInterval(32 * 86_400), store: store)
            }
            #expect(try await PoleHistory.load(device: "other", from: from, to: from.addingTimeInterval(3_600), store: store).readings.isEmpty)
        }
    }

    @Test func csvNumbersAreFixedAndLabelsSafe() {
        let figures = EnergyFigures(
            device: "p", from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: 3_600), measuredKilowattHours: -0.0000001,
            burningHours: 1, fullPowerSameHoursKilowattHours: 0.06, dimmingSavingKilowattHours: -1.23456, duskToDawnHours: 0,
            trimmingSavingKilowattHours: 0, duskToDawnFullPowerKilowattHours: 0, ratedPowerWatts: 60)
        let line = EnergyReport.csv([figures], labels: ["p": "+1 \"quoted\", x"]).split(separator: "\n")[1]
        #expect(line == "p,\"'+1 \"\"quoted\"\", x\",1970-01-01T00:00:00Z,1970-01-01T01:00:00Z,60.0,0.000,none,1.000,0.000,0.060,-1.235,0.000,0.000,0.000,0")
    }
}

@Suite struct NewestKeptTests {
    /// The pole page's bound: out of items arriving in any order, the newest `limit` by time, oldest first.
    @Test func keepsTheNewestInTimeOrder() {
        var kept = NewestKept<Int>(limit: 3)
        for value in [5, 1, 9, 7, 3, 8, 2, 6, 4, 10, 0] { kept.append(value, at: Double(value)) }
        #expect(kept.sorted() == [8, 9, 10])
        #expect(kept.dropped == 8)
    }
}
