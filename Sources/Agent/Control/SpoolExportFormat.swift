import ControlProtocol
import FoundationEssentials
import Telemetry
import Clocks

/// How `spool.export` writes spooled records: SenML-JSON (RFC 8428, JSON
/// labels) or CSV (RFC 4180).
///
/// SenML: each record as `SenMLRecordFields` maps it — the same names, units and values as the
/// signed batches and `lamp-ingest export` (`<channel>/event/<kind>` for events, with `vs` = the
/// message and `sev` = the severity; numbers in primary units) — with `t` in seconds since 1970
/// (UTC). The first record of each page carries `bn` = `urn:dev:lampd:<device id>:`, so pages can
/// be concatenated into one pack. CSV keeps the units as the board measured them.
enum SpoolExportFormat {
    static func senML(_ records: [SpooledRecord], deviceID: String) -> [JSONValue] {
        records.enumerated().map { index, spooled in
            var record: [String: JSONValue] = [:]
            if index == 0 { record["bn"] = .string(SenMLRecordFields.baseName(deviceID: deviceID)) }
            let fields = SenMLRecordFields(spooled.record)
            record["n"] = .string(fields.name)
            if let unit = fields.unit { record["u"] = .string(unit.rawValue) }
            switch fields.value {
            case .number(let n): record["v"] = n.isFinite ? .number(n) : .null
            case .boolean(let b): record["vb"] = .bool(b)
            case .string(let s): record["vs"] = .string(s)
            }
            if let severity = fields.severity { record["sev"] = .number(Double(severity.rawValue)) }
            switch fields.eventValue {
            case .number(let n)?: record["val"] = n.isFinite ? .number(n) : .null
            case .boolean(let b)?: record["val"] = .bool(b)
            case .string(let s)?: record["val"] = .string(s)
            case nil: break
            }
            if case .reading(let reading) = spooled.record {
                let quality = reading.quality.subtracting(.clockUnsynchronised).rawValue
                if quality != 0 { record["q"] = .number(Double(quality)) }
            }
            record["t"] = .number(seconds(spooled.record.time))
            return .object(record)
        }
    }

    /// UTC seconds since 1970, to the millisecond.
    static func seconds(_ time: Timestamp) -> Double {
        (Double(time.utcNanoseconds / 1_000_000) / 1000)
    }

    static let csvHeader = "sequence,time_utc,type,name,value,unit,quality,severity,message\n"

    static func csvRow(_ spooled: SpooledRecord) -> String {
        let fields: [String]
        switch spooled.record {
        case .reading(let reading):
            fields = [
                "\(spooled.sequence)", iso(reading.time), "reading", reading.channel.rawValue, text(reading.value),
                reading.unit.rawValue, ReadingRecord.names(reading.quality).joined(separator: " "), "", "",
            ]
        case .event(let event):
            fields = [
                "\(spooled.sequence)", iso(event.time), "event", event.kind, event.value.map(text) ?? "",
                "", "", EventRecord.name(event.severity), event.message,
            ]
        }
        return fields.map(quote).joined(separator: ",") + "\n"
    }

    static func iso(_ time: Timestamp) -> String {
        time.date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func text(_ value: ReadingValue) -> String {
        switch value {
        case .number(let n): "\(n)"
        case .boolean(let b): b ? "true" : "false"
        case .string(let s): s
        }
    }

    /// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled.
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacing("\"", with: "\"\"") + "\""
    }
}
