import Foundation
@testable import Telemetry

@testable import Uplink
import Clocks

/// Fixed keys and records shared by the Uplink tests and the docs/uplink.md example.
enum Fixtures {
    /// RFC 8032 §7.1 TEST 1 secret key: a well-known, public test key (never a board's).
    static let seed = bytes(hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    static let publicKeyHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

    static var key: DeviceKey { try! DeviceKey(seed: seed) }
    static let deviceID = DeviceID(rawValue: "pole-0042")!
    static var identity: DeviceIdentity { DeviceIdentity(deviceID: deviceID, key: key) }

    static let bootID = UUID(uuidString: "6F1C9A0E-3B52-4D8E-9F07-2A64C1D0B3E5")!
    /// 2025-10-01T18:00:00Z.
    static let baseUTCNanoseconds: Int64 = 1_759_341_600_000_000_000

    static func time(_ offsetSeconds: Double, synchronised: Bool = true, boot: Int64 = 3_600_000_000_000)
        -> Timestamp
    {
        let offset = Int64((offsetSeconds * 1e9).rounded())
        return Timestamp(
            utcNanoseconds: baseUTCNanoseconds + offset, bootNanoseconds: boot + offset, bootID: bootID,
            isClockSynchronised: synchronised)
    }

    /// Two readings, an unsynchronised reading and an alarm event: the documentation's example.
    static var records: [SpooledRecord] {
        [
            SpooledRecord(
                sequence: 101,
                record: .reading(
                    Reading(channel: ChannelName(rawValue: "lamp1/power")!, value: .number(41.5), unit: .watt, time: time(0)))),
            SpooledRecord(
                sequence: 102,
                record: .reading(
                    Reading(
                        channel: ChannelName(rawValue: "meter/energy")!, value: .number(12.5), unit: .kilowattHour,
                        time: time(0.25)))),
            SpooledRecord(
                sequence: 103,
                record: .event(
                    Event(
                        kind: "door.opened", severity: .alarm, channel: ChannelName(rawValue: "cabinet/door")!,
                        value: .boolean(true), time: time(30), message: "cabinet door opened without maintenance mode"))),
            SpooledRecord(
                sequence: 105,
                record: .reading(
                    Reading(
                        channel: ChannelName(rawValue: "cabinet/temperature")!, value: .number(23.5), unit: .celsius,
                        time: Timestamp(
                            utcNanoseconds: 86_400_000_000_000, bootNanoseconds: 42_000_000_000, bootID: bootID,
                            isClockSynchronised: false),
                        quality: .uncertain))),
        ]
    }
}
