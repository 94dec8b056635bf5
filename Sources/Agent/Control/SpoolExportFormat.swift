import FoundationEssentials
import Telemetry

/// How `spool.export` writes spooled records: SenML-JSON (RFC 8428, JSON
/// labels) or CSV (RFC 4180).
///
/// SenML: a reading becomes `{"n": channel, "u": unit, "v"|"vb"|"vs": value,
/// "t": seconds since 1970 (UTC)}`; an event becomes a string record named
/// `event.<kind>` whose `vs` is its message. The first record of each page
/// carries `bn` = `<device id>:`, so pages can be concatenated into one pack.
enum SpoolExportFormat {
    static func senML(_ records: [SpooledRecord], baseName: String) -> [JSONValue] {
        records.enumerated().map { index, spooled in
            var record: [String: JSONValue] = [:]
            if index == 0 { record["bn"] = .string(baseName) }
            switch spooled.record {
            case .reading(let reading):
                record["n"] = .string(reading.channel.rawValue)
                if reading.unit != .none { record["u"] = .string(reading.unit.rawValue) }
                switch reading.value {
                case .number(let n): record["v"] = n.isFinite ? .number(n) : .null
                case .boolean(let b): record["vb"] = .bool(b)
                case .string(let s): record["vs"] = .string(s)
                }
                record["t"] = .number(seconds(reading.time))
            case .event(let event):
                record["n"] = .string("event.\(event.kind)")
                record["vs"] = .string(event.message)
                record["t"] = .number(seconds(event.time))
            }
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
                reading.unit.rawValue, ReadingJSON.names(reading.quality).joined(separator: " "), "", "",
            ]
        case .event(let event):
            fields = [
                "\(spooled.sequence)", iso(event.time), "event", event.kind, event.value.map(text) ?? "",
                "", "", EventJSON.name(event.severity), event.message,
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
