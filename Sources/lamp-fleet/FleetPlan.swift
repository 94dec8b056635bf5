import Clocks
import Crypto
import Foundation
import Telemetry
import Uplink

/// What a simulated fleet sends, decided entirely by the options and the seed, so the expected
/// totals are known before the run (and a test can check the store against them).
///
/// Every board, every simulated minute: one batch with the energy meter's six channels, its
/// lamp following the city schedule (`FleetSchedule`): a `lamp.level` event when the level
/// changes (and at minute 0), `meter.active_power` = rated × level + stand-by, `meter.energy`
/// the cumulative joules of that power. On
/// about one board-minute in `doorEveryMinutes`, the cabinet door opens (an event, and a closing
/// event the next minute). On about one board-minute in `alarmEveryMinutes`, an urgent alarm,
/// sent at once in its own batch (as lampd sends alarms). `offlinePercent` of the boards go
/// offline for `offlineMinutes` and send their backlog when back; `lostAckPercent` of the
/// batches lose their acknowledgement, so the board sends the same bytes again.
struct FleetPlan: Sendable {
    var boards: Int
    var minutes: Int
    var seed: UInt64
    var offlinePercent: Int
    var offlineMinutes: Int
    var lostAckPercent: Int
    var doorEveryMinutes: Int
    var alarmEveryMinutes: Int
    /// The simulated time of minute 0 (UTC nanoseconds).
    var startNanoseconds: Int64
    /// The lamps' level, minute by minute.
    var schedule: FleetSchedule

    /// The board's lamp at 100 %, W: 40–120 W, from the seed (the pole inventory says the same).
    func ratedPowerWatts(_ board: Int) -> Double { Double(40 + draw(board, 0, 7) % 81) }

    static let meterChannels: [(name: String, unit: SenMLUnit, base: Double)] = [
        ("meter.voltage", .volt, 230), ("meter.current", .ampere, 0.4), ("meter.active_power", .watt, 85),
        ("meter.power_factor", .ratio, 0.95), ("meter.energy", .joule, 1_000_000), ("meter.frequency", .hertz, 50),
    ]
    static let readingsPerMinute = meterChannels.count

    func deviceID(_ board: Int) -> String { "fleet-\(board)" }

    /// The board's Ed25519 key, derived from the seed (the enrolment file and the run agree).
    func key(_ board: Int) -> DeviceKey {
        let seedBytes = Array(SHA256.hash(data: Array("lamp-fleet \(seed) board \(board)".utf8)))
        // 32 bytes from SHA-256 are always a valid Ed25519 seed.
        return try! DeviceKey(seed: seedBytes)
    }

    /// A well-mixed number for (board, minute, salt): SplitMix64's finaliser.
    func draw(_ board: Int, _ minute: Int, _ salt: UInt64) -> UInt64 {
        var z = seed &+ UInt64(truncatingIfNeeded: board) &* 0x9E37_79B9_7F4A_7C15
            &+ UInt64(truncatingIfNeeded: minute) &* 0xBF58_476D_1CE4_E5B9 &+ salt &* 0x94D0_49BB_1331_11EB
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    func doorOpens(_ board: Int, _ minute: Int) -> Bool {
        doorEveryMinutes > 0 && minute + 1 < minutes && draw(board, minute, 1) % UInt64(doorEveryMinutes) == 0
    }

    func alarm(_ board: Int, _ minute: Int) -> Bool {
        alarmEveryMinutes > 0 && draw(board, minute, 2) % UInt64(alarmEveryMinutes) == 0
    }

    /// The minutes [start, end) a board is offline, if it goes offline at all.
    func offlineWindow(_ board: Int) -> Range<Int>? {
        guard offlinePercent > 0, offlineMinutes > 0, minutes > 1,
              draw(board, 0, 3) % 100 < UInt64(offlinePercent) else { return nil }
        let start = Int(draw(board, 0, 4) % UInt64(minutes))
        return start..<min(minutes, start + offlineMinutes)
    }

    func losesAcknowledgement(_ board: Int, batch sequence: UInt64) -> Bool {
        lostAckPercent > 0 && draw(board, Int(truncatingIfNeeded: sequence), 5) % 100 < UInt64(lostAckPercent)
    }

    /// The records board `board` produces in `minute`: the regular batch and, if an alarm rang,
    /// the urgent one.
    func records(_ board: Int, _ minute: Int) -> (regular: [SpoolRecord], urgent: [SpoolRecord]) {
        let minuteStart = startNanoseconds + Int64(minute) * 60_000_000_000
        func time(_ secondsIntoMinute: Int64) -> Timestamp {
            Timestamp(utcNanoseconds: minuteStart + secondsIntoMinute * 1_000_000_000,
                      bootNanoseconds: Int64(minute) * 60_000_000_000 + secondsIntoMinute * 1_000_000_000,
                      bootID: Timestamp.unknownBootID, isClockSynchronised: true)
        }
        var regular: [SpoolRecord] = []
        let wobble = Double(draw(board, minute, 6) % 1000) / 1000
        let rated = ratedPowerWatts(board)
        for (index, channel) in Self.meterChannels.enumerated() {
            let value = switch channel.name {
            case "meter.energy": channel.base + schedule.joules(rated: rated, minute: minute, secondsIntoMinute: Double(index))
            case "meter.active_power": schedule.watts(rated: rated, minute: minute)
            default: channel.base * (0.98 + 0.04 * wobble)
            }
            regular.append(.reading(Reading(channel: ChannelName(rawValue: channel.name)!, value: .number(value),
                                            unit: channel.unit, time: time(Int64(index)))))
        }
        if let change = schedule.change(minute) {
            regular.append(.event(Event(kind: "lamp.level", severity: .info, channel: ChannelName(rawValue: "lamp.level"),
                                        value: .number(change.level), time: time(0), message: change.message)))
        }
        if doorOpens(board, minute) {
            regular.append(.event(Event(kind: "cabinet.door", severity: .warning, channel: ChannelName(rawValue: "cabinet.door"),
                                        value: .boolean(true), time: time(30), message: "cabinet door opened")))
        }
        if minute > 0 && doorOpens(board, minute - 1) {
            regular.append(.event(Event(kind: "cabinet.door", severity: .info, channel: ChannelName(rawValue: "cabinet.door"),
                                        value: .boolean(false), time: time(10), message: "cabinet door closed")))
        }
        var urgent: [SpoolRecord] = []
        if alarm(board, minute) {
            urgent.append(.event(Event(kind: "lamp.fault", severity: .alarm, channel: ChannelName(rawValue: "lamp.output"),
                                       value: .string("open-circuit"), time: time(45), message: "lamp draws no current while commanded on")))
        }
        return (regular, urgent)
    }

    /// What the store must hold after the run: every record exactly once.
    struct Totals: Codable, Equatable {
        var batches = 0
        var readings = 0
        var events = 0
        var records: Int { readings + events }
    }

    func expectedTotals() -> Totals {
        var totals = Totals()
        for board in 0..<boards {
            for minute in 0..<minutes {
                let (regular, urgent) = records(board, minute)
                for batch in [regular, urgent] where !batch.isEmpty {
                    totals.batches += 1
                    for record in batch {
                        if case .reading = record { totals.readings += 1 } else { totals.events += 1 }
                    }
                }
            }
        }
        return totals
    }

    /// The enrolled-keys file lamp-ingest reads (`<device> <base64 key>  # comment`).
    func enrolmentFile() -> String {
        (0..<boards).map { "\(deviceID($0)) \(key($0).publicKey.base64)  # lamp-fleet seed \(seed)\n" }.joined()
    }
}
