import Foundation
import GRDB
import Telemetry
import Uplink
import Clocks

/// Which stored readings and events to export; every bound is optional and inclusive.
public struct ExportFilter: Sendable, Equatable {
    /// Only this device.
    public var device: String?
    /// Only batches with a sequence at or above / at or below these.
    public var fromSequence: UInt64?
    public var toSequence: UInt64?
    /// Only records whose (resolved) time is within these, Unix seconds. Records whose time is
    /// unknown (unsynchronised clock, no anchor yet) are left out when either bound is set.
    public var since: Double?
    public var until: Double?

    public init(
        device: String? = nil, fromSequence: UInt64? = nil, toSequence: UInt64? = nil, since: Double? = nil,
        until: Double? = nil
    ) {
        self.device = device
        self.fromSequence = fromSequence
        self.toSequence = toSequence
        self.since = since
        self.until = until
    }
}

/// Writes stored batches out as SenML-JSON (RFC 8428 §5), re-verifying each stored blob with the
/// key that verified it on arrival.
///
/// Records are *resolved* (RFC 8428 §4.6): `n` is the full name (`urn:dev:lampd:<device>:<channel>`),
/// `t` absolute Unix seconds, no `bn`/`bt`. Readings carry `u` and one of `v`/`vs`/`vb`, and `q`
/// (1 uncertain, 2 bad) when not good; events carry `vs` (message), `sev` (0 info, 1 warning,
/// 2 alarm) and `val` if they have a value. A record taken with an unsynchronised clock is placed
/// with its boot's anchor (docs/uplink.md §3); without one it keeps the board's time and carries
/// the must-understand `"boot_": {"id", "ns"}`, so that no consumer takes that time for real.
public struct SenMLExporter: Sendable {
    public let store: IngestStore

    public init(store: IngestStore) {
        self.store = store
    }

    /// Exports the records that pass `filter`, handing the JSON text to `write` in pieces
    /// (one batch at a time); returns the number of records written.
    @discardableResult
    public func export(_ filter: ExportFilter, write: (String) throws -> Void) throws -> Int {
        try store.read { db in
            let anchors = try Self.anchors(db, device: filter.device)
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let device = filter.device {
                conditions.append("b.device = ?")
                arguments += [device]
            }
            if let from = filter.fromSequence {
                conditions.append("b.sequence >= ?")
                arguments += [Int64(clamping: from)]
            }
            if let to = filter.toSequence {
                conditions.append("b.sequence <= ?")
                arguments += [Int64(clamping: to)]
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT b.device, b.kid, b.sequence, b.cose, k.public_key FROM batch b
                    JOIN device_key k ON k.device = b.device AND k.kid = b.kid
                    \(whereClause) ORDER BY b.device, b.id
                    """,
                arguments: arguments)
            var count = 0
            try write("[")
            while let row = try rows.next() {
                let device: String = row["device"]
                let sequence: Int64 = row["sequence"]
                let cose: Data = row["cose"]
                let batch: VerifiedBatch
                do {
                    let key = try DevicePublicKey(rawRepresentation: row["public_key"] as Data)
                    batch = try BatchVerifier.verify(bytes: cose, publicKey: key)
                } catch {
                    throw IngestError(
                        .storeFailed, "stored batch \(sequence) of \(device) no longer verifies (\(error)): the database was altered")
                }
                var text = ""
                for record in batch.records {
                    guard let json = Self.json(record, anchors: anchors[device] ?? [:], filter: filter) else { continue }
                    text += (count == 0 ? "\n" : ",\n") + json
                    count += 1
                }
                if !text.isEmpty { try write(text) }
            }
            try write(count == 0 ? "]\n" : "\n]\n")
            return count
        }
    }

    typealias Anchor = (utcNanoseconds: Int64, bootNanoseconds: Int64)

    static func anchors(_ db: Database, device: String?) throws -> [String: [UUID: Anchor]] {
        var result: [String: [UUID: Anchor]] = [:]
        let sql = "SELECT device, boot_id, utc_ns, boot_ns FROM boot_anchor" + (device == nil ? "" : " WHERE device = ?")
        for row in try Row.fetchAll(db, sql: sql, arguments: device.map { [$0] } ?? []) {
            guard let id = UUID(uuidString: row["boot_id"]) else { continue }
            result[row["device"], default: [:]][id] = (row["utc_ns"], row["boot_ns"])
        }
        return result
    }

    /// One resolved SenML-JSON record, or nil if the filter leaves it out.
    static func json(_ record: BatchRecord, anchors: [UUID: Anchor], filter: ExportFilter) -> String? {
        var nanoseconds: Int64? = record.utcNanoseconds
        if !record.isClockSynchronised {
            nanoseconds = record.boot.flatMap { boot in
                // Checked: a hostile anchor or boot time leaves the time unknown instead of wrapping.
                anchors[boot.bootID].flatMap { anchor in
                    let (sinceAnchor, overflow) = boot.bootNanoseconds.subtractingReportingOverflow(anchor.bootNanoseconds)
                    return overflow ? nil : CheckedTime.sum(anchor.utcNanoseconds, sinceAnchor)
                }
            }
        }
        if filter.since != nil || filter.until != nil {
            guard let nanoseconds else { return nil }
            let seconds = Self.seconds(nanoseconds)
            if let since = filter.since, seconds < since { return nil }
            if let until = filter.until, seconds > until { return nil }
        }
        var fields: [(String, String)] = [("n", quote(record.name))]
        fields.append(("t", number(seconds(nanoseconds ?? record.utcNanoseconds))))
        if nanoseconds == nil, let boot = record.boot {
            fields.append(("boot_", "{\"id\":\(quote(boot.bootID.uuidString.lowercased())),\"ns\":\(boot.bootNanoseconds)}"))
        }
        switch record.kind {
        case .reading:
            if !record.unit.isEmpty { fields.append(("u", quote(record.unit))) }
            switch record.value {
            case .number(let n)?: fields.append(("v", number(n)))
            case .string(let s)?: fields.append(("vs", quote(s)))
            case .boolean(let b)?: fields.append(("vb", b ? "true" : "false"))
            case nil: break
            }
            let quality = record.quality.subtracting(.clockUnsynchronised).rawValue
            if quality != 0 { fields.append(("q", "\(quality)")) }
        case .event(_, let severity):
            if let message = record.message { fields.append(("vs", quote(message))) }
            fields.append(("sev", "\(severity.rawValue)"))
            switch record.value {
            case .number(let n)?: fields.append(("val", number(n)))
            case .string(let s)?: fields.append(("val", quote(s)))
            case .boolean(let b)?: fields.append(("val", b ? "true" : "false"))
            case nil: break
            }
        }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Unix seconds from nanoseconds, whole seconds and fraction converted apart, so that
    /// 1759341600.25 s does not come out as 1759341600.2499998.
    static func seconds(_ nanoseconds: Int64) -> Double {
        let whole = nanoseconds / 1_000_000_000
        return Double(whole) + Double(nanoseconds - whole * 1_000_000_000) / 1e9
    }

    /// A JSON number: integers without a fraction, `null` for what JSON cannot hold (NaN, ±∞).
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
