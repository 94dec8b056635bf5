import Foundation
import Telemetry

/// One alarm the live view tracks: the event kinds that raise and clear it (docs/live-view.md "Alarms").
public struct AlarmDefinition: Sendable, Equatable {
    /// The alarm's name, as `ActiveAlarm.alarm` carries it, e.g. `lamp.failure`.
    public var alarm: String
    /// What an operator reads: "Lamp failure".
    public var title: String
    /// Event kinds that raise it.
    public var raisedBy: [String]
    /// Event kinds that clear it.
    public var clearedBy: [String]
    /// An event kind whose boolean value says raised (true) or cleared (false), e.g. lamp-fleet's `cabinet.door`.
    public var switchedBy: String?

    public init(alarm: String, title: String, raisedBy: [String], clearedBy: [String], switchedBy: String? = nil) {
        self.alarm = alarm
        self.title = title
        self.raisedBy = raisedBy
        self.clearedBy = clearedBy
        self.switchedBy = switchedBy
    }
}

/// What one event does to an alarm.
public struct AlarmChange: Sendable, Equatable {
    public var definition: AlarmDefinition
    /// True: the alarm is on from the event's time; false: it is off.
    public var raised: Bool
}

/// Every alarm lampd and lamp-fleet raise, written once: the map's "fault" colour, the list's
/// alarm column and the pole page read it (docs/live-view.md lists the same table).
public enum AlarmCatalogue {
    public static let alarms: [AlarmDefinition] = [
        suffixed("lamp.failure", "Lamp failure"),
        suffixed("lamp.day-burner", "Day burner"),
        suffixed("lamp.dimming-failure", "Dimming failure"),
        suffixed("lamp.voltage-out-of-range", "Voltage out of range"),
        suffixed("lamp.low-power-factor", "Low power factor"),
        // A lamp that switches itself off and on while commanded on (lampd's `CyclingWatch`).
        suffixed("lamp.cycling", "Cycling"),
        // lamp-fleet's simulated lamp fault (no clearing event: it stays until acknowledged or cleared).
        AlarmDefinition(alarm: "lamp.fault", title: "Lamp fault", raisedBy: ["lamp.fault"], clearedBy: ["lamp.fault.cleared"]),
        AlarmDefinition(
            alarm: "cabinet.door", title: "Cabinet door open", raisedBy: ["cabinet.door.opened"],
            clearedBy: ["cabinet.door.closed"], switchedBy: "cabinet.door"),
        AlarmDefinition(
            alarm: "cabinet.flash-mode", title: "Flash mode", raisedBy: ["cabinet.flash-mode.on"], clearedBy: ["cabinet.flash-mode.off"]),
        AlarmDefinition(
            alarm: "cabinet.controller-fault", title: "Controller fault", raisedBy: ["cabinet.controller-fault.raised"],
            clearedBy: ["cabinet.controller-fault.cleared"]),
        AlarmDefinition(
            alarm: "cabinet.mains", title: "Mains lost", raisedBy: ["cabinet.mains.lost"], clearedBy: ["cabinet.mains.restored"]),
        AlarmDefinition(
            alarm: "cabinet.battery", title: "On battery", raisedBy: ["cabinet.battery.in-use"], clearedBy: ["cabinet.battery.idle"]),
    ]

    /// `kind` raised, `kind.cleared` cleared: lampd's lamp fault detectors.
    private static func suffixed(_ kind: String, _ title: String) -> AlarmDefinition {
        AlarmDefinition(alarm: kind, title: title, raisedBy: [kind], clearedBy: [kind + ".cleared"])
    }

    private static let byKind: [String: (AlarmDefinition, raised: Bool?)] = {
        var index: [String: (AlarmDefinition, raised: Bool?)] = [:]
        for definition in alarms {
            for kind in definition.raisedBy { index[kind] = (definition, true) }
            for kind in definition.clearedBy { index[kind] = (definition, false) }
            if let kind = definition.switchedBy { index[kind] = (definition, nil) }
        }
        return index
    }()

    /// The definition named `alarm`.
    public static func definition(_ alarm: String) -> AlarmDefinition? { alarms.first { $0.alarm == alarm } }

    /// What an event of `kind` with `value` does to an alarm; nil when it is no alarm's event (or a
    /// switching event without a boolean value).
    public static func change(kind: String, value: ReadingValue?) -> AlarmChange? {
        guard let (definition, raised) = byKind[kind] else { return nil }
        if let raised { return AlarmChange(definition: definition, raised: raised) }
        guard case .boolean(let on)? = value else { return nil }
        return AlarmChange(definition: definition, raised: on)
    }
}
