/// How a spooled reading or event becomes a SenML record (RFC 8428): the one mapping that the
/// signed batch (`BatchBuilder`), `lampctl spool export` and `lamp-ingest export` all use, so
/// the same record has the same name, unit and value at the pole and upstream (docs/uplink.md §3).
///
/// - Base name: `urn:dev:lampd:<device-id>:`.
/// - A reading: `n` = its channel; a number in a secondary unit (`Wh`, `kWh`, `mA` …) is converted
///   to the primary unit (`J`, `A` …); booleans are `vb`, text is `vs`.
/// - An event: `n` = `<channel>/event/<kind>`, or `event/<kind>` without a channel; `vs` = its
///   message, `sev` = its severity (0 info, 1 warning, 2 alarm), `val` = its value if it has one.
public struct SenMLRecordFields: Sendable, Equatable {
    /// The record's value, as SenML writes it.
    public enum Value: Sendable, Equatable {
        /// `v`
        case number(Double)
        /// `vb`
        case boolean(Bool)
        /// `vs`
        case string(String)
    }

    /// `n`, relative to the base name.
    public var name: String
    /// `u`, a primary unit; nil for none.
    public var unit: SenMLUnit?
    /// `v`, `vb` or `vs`: a reading's value, an event's message.
    public var value: Value
    /// `sev`, for events.
    public var severity: EventSeverity?
    /// `val`, an event's value (a number already in its primary unit is not converted: events carry
    /// no unit).
    public var eventValue: ReadingValue?

    /// The fields of `record`.
    public init(_ record: SpoolRecord) {
        switch record {
        case .reading(let reading):
            name = reading.channel.rawValue
            severity = nil
            eventValue = nil
            switch reading.value {
            case .number(let n):
                let conversion = reading.unit.primaryConversion
                value = .number(n * conversion.scale + conversion.offset)
                unit = conversion.primary == .none ? nil : conversion.primary
            case .boolean(let b):
                value = .boolean(b)
                unit = nil
            case .string(let s):
                value = .string(s)
                unit = nil
            }
        case .event(let event):
            let kind = Self.eventKindName(event.kind)
            name = event.channel.map { "\($0.rawValue)/event/\(kind)" } ?? "event/\(kind)"
            unit = nil
            value = .string(event.message)
            severity = event.severity
            eventValue = event.value
        }
    }

    /// The base name of a device's records: `urn:dev:lampd:<device-id>:`.
    public static func baseName(deviceID: String) -> String { "urn:dev:lampd:\(deviceID):" }

    /// An event kind as it appears in a SenML name: characters SenML names do not allow, and
    /// `/`, become `_` (so the kind is always what follows the last `/event/`).
    public static func eventKindName(_ kind: String) -> String {
        let cleaned = String(kind.map { allowedInKind.contains($0) ? $0 : "_" })
        return cleaned.isEmpty ? "_" : cleaned
    }

    private static let allowedInKind = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:._")
}
