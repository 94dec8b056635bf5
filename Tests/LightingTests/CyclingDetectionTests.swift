import Foundation
import Testing
import TestSupport
@testable import Lighting

/// The cycling detector (issue 17): a lamp that switches itself off and on while commanded on.
@Suite("Cycling detection")
struct CyclingDetectionTests {
    let lamp = FaultDetectionTests.lamp
    let t0 = FaultDetectionTests.t0

    /// One reading at full command, `seconds` after `t0`: dark (0 W) or lit (60 W). The level was set long before.
    func reading(_ detector: inout FaultDetector, dark: Bool, at seconds: Double) -> [String] {
        detector.update(LampMeasurement(powerWatts: dark ? 0 : 60), commandedLevelPercent: 100,
                        levelSetAt: .distantPast, now: t0.addingTimeInterval(seconds))
            .map { "\($0.fault.rawValue) \($0.transition.rawValue)" }
    }

    @Test("raised at the third lamp failure within 30 min, cleared after a full window without one")
    func raiseAndClear() {
        var detector = FaultDetector(lampType: lamp)
        #expect(reading(&detector, dark: true, at: 100) == ["lampFailure raised"])
        #expect(reading(&detector, dark: false, at: 200) == ["lampFailure cleared"])
        #expect(reading(&detector, dark: true, at: 300) == ["lampFailure raised"])
        #expect(reading(&detector, dark: false, at: 400) == ["lampFailure cleared"])
        let third = detector.update(LampMeasurement(powerWatts: 0), commandedLevelPercent: 100, levelSetAt: .distantPast,
                                    now: t0.addingTimeInterval(500))
        #expect(third.map(\.fault) == [.lampFailure, .cycling])
        #expect(third.last?.transition == .raised)
        #expect(third.last?.at == t0.addingTimeInterval(500))
        #expect(third.last?.detail == "lamp failure raised 3 times within 30 min while commanded on")
        #expect(detector.active == [.lampFailure, .cycling])
        #expect(reading(&detector, dark: false, at: 600) == ["lampFailure cleared"])
        #expect(detector.active == [.cycling])
        // Still cycling one second before a full window after the last raise (500 s).
        #expect(reading(&detector, dark: false, at: 500 + 1799).isEmpty)
        let cleared = detector.update(LampMeasurement(powerWatts: 60), commandedLevelPercent: 100, levelSetAt: .distantPast,
                                      now: t0.addingTimeInterval(500 + 1800))
        #expect(cleared.map(\.fault) == [.cycling])
        #expect(cleared.first?.transition == .cleared)
        #expect(cleared.first?.detail == "no lamp-failure raise for 30 min")
        #expect(detector.active.isEmpty)
        // Raised once, cleared once: nothing more while the lamp stays lit.
        #expect(reading(&detector, dark: false, at: 10_000).isEmpty)
    }

    @Test("two lamp failures in the window are not cycling")
    func noRaiseBelowThreshold() {
        var detector = FaultDetector(lampType: lamp)
        for (index, seconds) in [100.0, 200, 300, 400].enumerated() {
            _ = reading(&detector, dark: index % 2 == 0, at: seconds)
        }
        #expect(!detector.active.contains(.cycling))
        // Commanded off (dawn) does not raise anything, however dark.
        let off = detector.update(LampMeasurement(powerWatts: 0), commandedLevelPercent: 0, levelSetAt: .distantPast,
                                  now: t0.addingTimeInterval(500))
        #expect(off.isEmpty)
        #expect(detector.cycling.raiseTimes.count == 2)
    }

    @Test("the window slides: raises older than 30 min do not count")
    func windowSlides() {
        var detector = FaultDetector(lampType: lamp)
        // Raises at 0, 1000 and 2000 s: the first is 2000 s before the third, outside the window.
        for seconds in [0.0, 1000, 2000] {
            #expect(reading(&detector, dark: true, at: seconds) == ["lampFailure raised"])
            #expect(reading(&detector, dark: false, at: seconds + 10) == ["lampFailure cleared"])
        }
        #expect(!detector.active.contains(.cycling))
        // A fourth at 2500 s: 1000, 2000 and 2500 are within 30 min.
        #expect(reading(&detector, dark: true, at: 2500) == ["lampFailure raised", "cycling raised"])
        // At most N raise times are kept.
        #expect(detector.cycling.raiseTimes.count == 3)
    }

    @Test("a custom threshold and window")
    func customPolicy() {
        var detector = FaultDetector(lampType: lamp, cycling: CyclingWatch(raisesToCycle: 2, windowSeconds: 60))
        #expect(reading(&detector, dark: true, at: 0) == ["lampFailure raised"])
        #expect(reading(&detector, dark: false, at: 10) == ["lampFailure cleared"])
        #expect(reading(&detector, dark: true, at: 59) == ["lampFailure raised", "cycling raised"])
        #expect(reading(&detector, dark: false, at: 60) == ["lampFailure cleared"])
        #expect(reading(&detector, dark: false, at: 119) == ["cycling cleared"])
        // Nonsense policies are bounded.
        #expect(CyclingWatch(raisesToCycle: -5, windowSeconds: .nan).raisesToCycle == 2)
        #expect(CyclingWatch(raisesToCycle: .max).raisesToCycle == CyclingWatch.maximumRaisesToCycle)
        #expect(CyclingWatch(windowSeconds: -1).windowSeconds == CyclingWatch.defaultWindowSeconds)
    }

    @Test("a clock that goes back neither traps nor raises; a raised cycling clears a window after the jump")
    func clockBackwards() {
        var detector = FaultDetector(lampType: lamp)
        _ = reading(&detector, dark: true, at: 100)
        _ = reading(&detector, dark: false, at: 200)
        _ = reading(&detector, dark: true, at: 300)
        _ = reading(&detector, dark: false, at: 400)
        // The clock jumps back an hour (lampd's boot time after a reboot restored the state): the
        // third failure is not counted with the two before the jump.
        #expect(reading(&detector, dark: true, at: -3600) == ["lampFailure raised"])
        #expect(!detector.active.contains(.cycling))

        var cycling = FaultDetector(lampType: lamp)
        for seconds in [100.0, 300, 500] {
            _ = reading(&cycling, dark: true, at: seconds)
            _ = reading(&cycling, dark: false, at: seconds + 50)
        }
        #expect(cycling.active == [.cycling])
        #expect(reading(&cycling, dark: false, at: -10_000).isEmpty)
        #expect(reading(&cycling, dark: false, at: -10_000 + 1799).isEmpty)
        #expect(reading(&cycling, dark: false, at: -10_000 + 1800) == ["cycling cleared"])
        // NaN time: nothing.
        let nan = cycling.update(LampMeasurement(powerWatts: 0), commandedLevelPercent: 100, levelSetAt: .distantPast,
                                 now: Date(timeIntervalSince1970: .nan))
        #expect(!nan.contains { $0.fault == .cycling })
    }

    @Test("a detector saved before cycling existed loads; a saved watch round-trips within its bounds")
    func savedState() throws {
        var detector = FaultDetector(lampType: lamp)
        _ = reading(&detector, dark: true, at: 100)
        let saved = try JSONEncoder().encode(detector)
        #expect(try JSONDecoder().decode(FaultDetector.self, from: saved) == detector)
        // The state file of an older lampd: no "cycling" key.
        var object = try #require(try JSONSerialization.jsonObject(with: saved) as? [String: Any])
        object["cycling"] = nil
        let old = try JSONDecoder().decode(FaultDetector.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(old.active == [.lampFailure])
        #expect(old.cycling == CyclingWatch())
        // A hostile file: huge threshold, NaN window, too many times.
        let hostile = #"{"raisesToCycle": 9223372036854775807, "windowSeconds": -1, "raiseTimes": [\#((0..<500).map(String.init).joined(separator: ","))]}"#
        let watch = try JSONDecoder().decode(CyclingWatch.self, from: Data(hostile.utf8))
        #expect(watch.raisesToCycle == CyclingWatch.maximumRaisesToCycle)
        #expect(watch.windowSeconds == CyclingWatch.defaultWindowSeconds)
        #expect(watch.raiseTimes.count == CyclingWatch.maximumRaisesToCycle)
    }

    @Test("seeded fuzz: any readings, levels and times never trap, and keep memory bounded")
    func fuzz() {
        var random = SeededRandom(seed: 0x4359_434c_494e_47)
        let watts: [Double] = [0, 0.1, 3, 30, 60, 61, 1e9, -5, .nan, .infinity, -.infinity, .greatestFiniteMagnitude]
        let levels: [Double] = [0, 1, 50, 100, 150, -1, .nan, .infinity]
        let steps: [Double] = [1, 10, 59, 61, 600, 1799, 1800, 3600, -1, -3600, 1e12, -1e12, .nan]
        for round in 0..<200 {
            var detector = FaultDetector(
                lampType: lamp,
                cycling: CyclingWatch(raisesToCycle: random.pick([-1, 2, 3, 5, Int.max]), windowSeconds: random.pick([1800, 60, .nan, -1, 1e300])))
            var seconds = 0.0
            var levelSetAt = t0
            for _ in 0..<100 {
                seconds += random.pick(steps)
                if random.next() % 10 == 0 { levelSetAt = t0.addingTimeInterval(seconds) }
                let measurement = LampMeasurement(
                    powerWatts: random.pick(watts), voltageVolts: random.pick([nil, 230, .nan, 1e6]),
                    powerFactor: random.pick([nil, 0.95, 0.2, .nan]))
                let events = detector.update(measurement, commandedLevelPercent: random.pick(levels), levelSetAt: levelSetAt,
                                             now: t0.addingTimeInterval(seconds))
                // Cycling is raised only together with a lamp-failure raise.
                if events.contains(where: { $0.fault == .cycling && $0.transition == .raised }) {
                    #expect(events.contains { $0.fault == .lampFailure && $0.transition == .raised }, "round \(round)")
                }
                #expect(detector.cycling.raiseTimes.count <= detector.cycling.raisesToCycle, "round \(round)")
            }
        }
    }
}
