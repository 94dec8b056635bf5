import Telemetry

/// The map keys of a record in lampd's SenML packs (RFC 8428 §6, docs/uplink.md).
///
/// Standard fields use the integer labels of RFC 8428 Table 6; lampd's extensions use text
/// labels, as §6 requires ("any extensions will use string map keys"). A label ending in `_`
/// is must-understand (§4.4): a receiver that does not know it must reject the pack.
public enum SenMLLabel {
    /// Base name (`bn`): `urn:dev:lampd:<device-id>:`, on the first record.
    public static let baseName: CBORValue = .int(-2)
    /// Base time (`bt`): whole seconds since the Unix epoch, on the first record.
    public static let baseTime: CBORValue = .int(-3)
    /// Name (`n`), appended to the base name.
    public static let name: CBORValue = .int(0)
    /// Unit (`u`): always a primary SenML unit.
    public static let unit: CBORValue = .int(1)
    /// Numeric value (`v`).
    public static let value: CBORValue = .int(2)
    /// String value (`vs`); for events, the human-readable message.
    public static let stringValue: CBORValue = .int(3)
    /// Boolean value (`vb`).
    public static let booleanValue: CBORValue = .int(4)
    /// Time (`t`): seconds relative to the base time.
    public static let time: CBORValue = .int(6)

    /// Extension `q`: reading quality bits, 1 = uncertain, 2 = bad; absent = good.
    public static let quality: CBORValue = .text("q")
    /// Extension `sev`: present exactly on events; 0 info, 1 warning, 2 alarm.
    public static let severity: CBORValue = .text("sev")
    /// Extension `val`: the value that goes with an event (number, boolean or text), if any.
    public static let eventValue: CBORValue = .text("val")
    /// Must-understand extension `boot_`: `[boot id (16 bytes), boot time in ns]` on a record
    /// taken while the wall clock was not synchronised; its `t` must not be trusted.
    public static let unsynchronisedBoot: CBORValue = .text("boot_")
    /// Extension `boot`: `[boot id (16 bytes), boot time in ns]` on the first synchronised record
    /// of each boot in a pack: the anchor that places the `boot_` records of that boot.
    public static let bootAnchor: CBORValue = .text("boot")

    /// The SenML base name lampd uses for a device.
    public static func baseName(for deviceID: DeviceID) -> String { SenMLRecordFields.baseName(deviceID: deviceID.rawValue) }
}
