import Foundation
import Testing
import TestSupport
@testable import Lighting

@Suite("Fault detection")
struct FaultDetectionTests {
    /// A 60 W LED lamp, also the cycling tests' (CyclingDetectionTests).
    static let lamp = LampType(name: "LED 60 W", nominalPowerWatts: 60, minimumPowerWatts: 6, standbyPowerWatts: 0.5,
                               tolerancePercent: 15, warmUpSeconds: 60)
    static let t0 = iso("2025-06-10T20:00:00Z")
    let lamp = Self.lamp
    let t0 = Self.t0

    @Test("expected power is linear between minimum and nominal")
    func expected() {
        #expect(lamp.expectedPowerWatts(levelPercent: 100) == 60)
        #expect(lamp.expectedPowerWatts(levelPercent: 1) == 6)
        #expect(lamp.expectedPowerWatts(levelPercent: 0) == 0.5)
    }

    @Test("lamp failure: raised once after warm-up, cleared once")
    func lampFailure() {
        var detector = FaultDetector(lampType: lamp)
        // During warm-up nothing is judged.
        #expect(detector.update(LampMeasurement(powerWatts: 0), commandedLevelPercent: 100, levelSetAt: t0, now: t0.addingTimeInterval(30)).isEmpty)
        let raised = detector.update(LampMeasurement(powerWatts: 0), commandedLevelPercent: 100, levelSetAt: t0, now: t0.addingTimeInterval(61))
        #expect(raised.map(\.fault) == [.lampFailure])
        #expect(raised.first?.transition == .raised)
        #expect(raised.first?.detail == "commanded 100 %, expected 60.0 W ± 15 %, measured 0.0 W")
        #expect(detector.update(LampMeasurement(powerWatts: 0), commandedLevelPercent: 100, levelSetAt: t0, now: t0.addingTimeInterval(120)).isEmpty)
        let cleared = detector.update(LampMeasurement(powerWatts: 59), commandedLevelPercent: 100, levelSetAt: t0, now: t0.addingTimeInterval(180))
        #expect(cleared.map(\.transition) == [.cleared])
        #expect(detector.active.isEmpty)
    }

    @Test("day burner, dimming failure, voltage and power factor")
    func others() {
        var detector = FaultDetector(lampType: lamp)
        let late = t0.addingTimeInterval(600)
        #expect(detector.update(LampMeasurement(powerWatts: 58), commandedLevelPercent: 0, levelSetAt: t0, now: late).map(\.fault) == [.dayBurner])
        var dimming = FaultDetector(lampType: lamp)
        // Commanded 50 % (≈ 32.7 W) but drawing full power.
        #expect(dimming.update(LampMeasurement(powerWatts: 60), commandedLevelPercent: 50, levelSetAt: t0, now: late).map(\.fault) == [.dimmingFailure])
        var supply = FaultDetector(lampType: lamp)
        // Voltage is judged even during warm-up; power factor only when settled.
        let events = supply.update(LampMeasurement(powerWatts: 60, voltageVolts: 190, powerFactor: 0.5), commandedLevelPercent: 100,
                                   levelSetAt: t0, now: t0.addingTimeInterval(1))
        #expect(events.map(\.fault) == [.voltageOutOfRange])
        #expect(Set(supply.update(LampMeasurement(powerWatts: 60, voltageVolts: 190, powerFactor: 0.5), commandedLevelPercent: 100,
                                  levelSetAt: t0, now: late).map(\.fault)) == [.lowPowerFactor])
        #expect(supply.active == [.voltageOutOfRange, .lowPowerFactor])
    }

    @Test("energy counter survives wrap and reset")
    func energy() {
        var counter = EnergyCounter(rolloverWattHours: 100_000)
        #expect(counter.add(readingWattHours: 99_000).step == .first)
        #expect(counter.add(readingWattHours: 99_900).addedWattHours == 900)
        let wrap = counter.add(readingWattHours: 200)
        #expect(wrap.step == .wrapped)
        #expect(wrap.addedWattHours == 300)
        let reset = counter.add(readingWattHours: 50)  // meter restarted
        #expect(reset.step == .reset)
        #expect(counter.totalWattHours == 1_250)
        #expect(counter.resets == 1)
        var burn = BurnHourCounter()
        burn.add(levelPercent: 60, from: t0, to: t0.addingTimeInterval(7200))
        burn.add(levelPercent: 0, from: t0, to: t0.addingTimeInterval(7200))
        #expect(burn.hours == 2)
    }
}
