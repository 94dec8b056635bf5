import Foundation
import GRDB

/// What the receiver holds for one device: for `lamp-ingest status`.
public struct DeviceStatus: Sendable, Equatable, Codable {
    public var device: String
    /// Key id (16 hex digits) and sequence of the chain's head: the last batch in order.
    public var kid: String
    public var lastSequence: UInt64
    /// Stored batches (all keys) and stored records in them.
    public var batches: Int
    public var records: Int
    /// Stored batches that arrived after a gap (batches missing before them).
    public var gaps: Int
    /// When the last batch was stored, Unix milliseconds.
    public var lastReceivedMilliseconds: Int64
}

extension IngestStore {
    /// One entry per device that has stored batches, ordered by device id.
    public func status() throws(IngestError) -> [DeviceStatus] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.device, c.kid, c.sequence, COUNT(b.id) AS batches, COALESCE(SUM(b.record_count), 0) AS records,
                        COUNT(b.gap_expected) AS gaps, COALESCE(MAX(b.received_at_ms), 0) AS last_received
                    FROM chain c LEFT JOIN batch b ON b.device = c.device
                    GROUP BY c.device ORDER BY c.device
                    """
            ).map { row in
                DeviceStatus(
                    device: row["device"], kid: row["kid"], lastSequence: UInt64(clamping: row["sequence"] as Int64),
                    batches: row["batches"], records: row["records"], gaps: row["gaps"],
                    lastReceivedMilliseconds: row["last_received"])
            }
        }
    }
}
