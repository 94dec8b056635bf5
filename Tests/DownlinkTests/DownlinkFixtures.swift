import Foundation
import CivilTime
import Downlink
import Lighting
import Uplink

/// Fixed keys and documents shared by the Downlink tests and the docs/downlink.md example.
enum DownlinkFixtures {
    static func bytes(hex: String) -> [UInt8] { [UInt8](hexString: hex)! }

    /// RFC 8032 §7.1 TEST 2 secret key: public test vectors, never a city's keys.
    static let schedulerSeed = bytes(hex: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    /// RFC 8032 §7.1 TEST 3 secret key.
    static let operatorSeed = bytes(hex: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
    /// A key no board pins.
    static let strangerSeed = [UInt8](repeating: 7, count: 32)

    static var schedulerKey: DeviceKey { try! DeviceKey(seed: schedulerSeed) }
    static var operatorKey: DeviceKey { try! DeviceKey(seed: operatorSeed) }
    static var strangerKey: DeviceKey { try! DeviceKey(seed: strangerSeed) }

    static var keyring: CityKeyring {
        CityKeyring(keys: [
            PinnedCityKey(publicKey: schedulerKey.publicKey, role: .scheduler, source: "scheduler/test"),
            PinnedCityKey(publicKey: operatorKey.publicKey, role: .operator, source: "operator/test"),
        ])
    }

    static let deviceID = "pole-0042"
    /// 2026-10-01T12:00:00Z.
    static let now: Int64 = 1_790_856_000
    static let day: Int64 = 86_400

    static func board(applied: [DesiredStateRole: UInt64] = [:], now: Int64 = now, synchronised: Bool = true) -> BoardDownlinkState {
        BoardDownlinkState(deviceID: deviceID, appliedVersions: applied, nowSeconds: now, clockSynchronised: synchronised,
                           maximumOverrideSeconds: 12 * 3600)
    }

    /// Dusk to dawn at 100 %, dimmed to 50 % from 23:00 to 05:00; full light on New Year's Eve.
    static var schedule: Schedule {
        let sunset = SwitchTime("sunset")!, sunrise = SwitchTime("sunrise")!
        return try! Schedule(
            calendar: LightingCalendar(
                id: "city", rules: [CalendarRule(program: "full-night", startDate: RuleDate("--12-31"), endDate: RuleDate("--12-31"))],
                defaultProgram: "dim-midnight"),
            programs: [
                ControlProgram(id: "dim-midnight", activePeriod: ActivePeriod(from: sunset, to: sunrise), switchPoints: [
                    SwitchPoint(at: SwitchTime("17:00")!, levelPercent: 100),
                    SwitchPoint(at: SwitchTime("23:00")!, levelPercent: 50, rampSeconds: 60),
                    SwitchPoint(at: SwitchTime("05:00")!, levelPercent: 100),
                ]),
                ControlProgram(id: "full-night", activePeriod: ActivePeriod(from: sunset, to: sunrise), switchPoints: [
                    SwitchPoint(at: SwitchTime("12:00")!, levelPercent: 100),
                ]),
            ])
    }

    static func schedulerDocument(version: UInt64 = 7, device: String = deviceID, expiresIn: Int64 = 30 * day) -> DesiredState {
        DesiredState(deviceID: device, version: version, issuedAtSeconds: now - 60, expiresAtSeconds: now + expiresIn,
                     schedule: schedule, defaultLightStatePercent: 100,
                     configuration: RemoteConfiguration(batchIntervalSeconds: 300, maxBytesPerDay: 200_000, samplingPeriodSeconds: ["meter": 60]))
    }

    static func operatorDocument(version: UInt64 = 8, level: Int = 100, start: Int64 = now, hours: Int64 = 6) -> DesiredState {
        DesiredState(deviceID: deviceID, version: version, issuedAtSeconds: now - 60, expiresAtSeconds: now + day,
                     override: CityOverride(levelPercent: level, startSeconds: start, expirySeconds: start + hours * 3600,
                                            rampSeconds: 30, reason: "festival on the market square"))
    }

    static func signed(_ state: DesiredState, by key: DeviceKey = schedulerKey) -> [UInt8] {
        DesiredStateSigner(key: key).sign(state)
    }
}
