import Foundation
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
    /// Only batches the receiver stored at or after this, Unix seconds by the receiver's clock —
    /// applied in the store's query (indexed), so that a day of a city does not read every batch
    /// ever stored. See `receivedSince(forRecordsSince:)` for the bound that keeps every record of a period.
    public var receivedSince: Double?

    public init(
        device: String? = nil, fromSequence: UInt64? = nil, toSequence: UInt64? = nil, since: Double? = nil,
        until: Double? = nil, receivedSince: Double? = nil
    ) {
        self.device = device
        self.fromSequence = fromSequence
        self.toSequence = toSequence
        self.since = since
        self.until = until
        self.receivedSince = receivedSince
    }

    /// How far a board's synchronised clock may run ahead of the receiver's, seconds: a record
    /// taken at `t` (by the board's clock) is stored at `t − clockSlackSeconds` or later.
    /// Generous on purpose (NTP keeps both within a second): it only widens the batches read.
    public static let clockSlackSeconds: Double = 3_600

    /// The received-since bound that keeps every record whose time is `since` or later: a record
    /// cannot arrive before it was taken, give or take `clockSlackSeconds`.
    public static func receivedSince(forRecordsSince since: Double) -> Double {
        since - clockSlackSeconds
    }

    /// Records of [since, until] (device optional), with the received-since bound that lets the
    /// store skip the batches that arrived before the period.
    public static func records(device: String? = nil, since: Double, until: Double) -> ExportFilter {
        ExportFilter(device: device, since: since, until: until, receivedSince: receivedSince(forRecordsSince: since))
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
    public let store: any BatchStore

    public init(store: any BatchStore) {
        self.store = store
    }

    /// Exports the records that pass `filter`, handing the JSON text to `write` in pieces
    /// (one batch at a time); returns the number of records written.
    @discardableResult
    public func export(_ filter: ExportFilter, write: (String) throws -> Void) async throws -> Int {
        let anchors = try await store.bootAnchors(device: filter.device)
        var count = 0
        try write("[")
        try await forEachVerifiedBatch(filter) { device, batch in
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

    /// Hands every stored batch that passes `filter` (and whose device `includes`, checked before
    /// the signature) to `body` with its device, verified again with the key stored beside it (a
    /// batch that no longer verifies means the database was altered).
    public func forEachVerifiedBatch(
        _ filter: ExportFilter, includes: (_ device: String) -> Bool = { _ in true },
        _ body: (_ device: String, VerifiedBatch) throws -> Void
    ) async throws {
        try await store.forEachBatch(filter) { stored in
            guard includes(stored.device) else { return }
            let batch: VerifiedBatch
            do {
                let key = try DevicePublicKey(rawRepresentation: stored.publicKey)
                batch = try BatchVerifier.verify(bytes: stored.cose, publicKey: key)
            } catch {
                throw IngestError(
                    .storeFailed,
                    "stored batch \(stored.sequence) of \(stored.device) no longer verifies (\(error)): the database was altered")
            }
            try body(stored.device, batch)
        }
    }

    /// When `record` was taken, in nanoseconds since 1970 UTC: its own time if the board's clock was
    /// synchronised, else placed by its boot's anchor (docs/uplink.md §3); nil when no anchor places it.
    public static func resolvedNanoseconds(_ record: BatchRecord, anchors: [UUID: BootAnchor]) -> Int64? {
        if record.isClockSynchronised { return record.utcNanoseconds }
        return record.boot.flatMap { boot in
            // Checked: a hostile anchor or boot time leaves the time unknown instead of wrapping.
            anchors[boot.bootID].flatMap { anchor in
                let (sinceAnchor, overflow) = boot.bootNanoseconds.subtractingReportingOverflow(anchor.bootNanoseconds)
                return overflow ? nil : CheckedTime.sum(anchor.utcNanoseconds, sinceAnchor)
            }
        }
    }

    /// One resolved SenML-JSON record, or nil if the filter leaves it out.
    static func json(_ record: BatchRecord, anchors: [UUID: BootAnchor], filter: ExportFilter) -> String? {
        let nanoseconds = resolvedNanoseconds(record, anchors: anchors)
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
