import Downlink
import Foundation
import Telemetry
import Uplink

/// Reads the boards' `downlink.applied` / `downlink.refused` events (channel `downlink.<role>`,
/// value the version; docs/downlink.md) from the stored, signed batches and records each outcome
/// in the published-state store. Events whose role or version the board could not tell (a
/// document that did not even verify) name no published version and are skipped.
public enum DownlinkOutcomes {
    public static func record(from ingest: any BatchStore, device: String?, into store: any PublishedStateStore) async throws(IngestError) {
        var outcomes: [Outcome] = []
        do {
            let exporter = SenMLExporter(store: ingest)
            let anchors = try await ingest.bootAnchors(device: device)
            try await exporter.forEachVerifiedBatch(ExportFilter(device: device)) { device, batch in
                outcomes += batch.records.compactMap { outcome(of: $0, device: device, anchors: anchors[device] ?? [:]) }
            }
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.storeFailed, "cannot read the boards' events from \(ingest.location): \(error)")
        }
        for outcome in outcomes {
            try await store.recordOutcome(device: outcome.device, role: outcome.role, version: outcome.version, outcome: outcome.outcome, at: outcome.at)
        }
    }

    struct Outcome: Equatable {
        var device: String
        var role: String
        var version: UInt64
        /// `applied`, or `refused: <reason>`.
        var outcome: String
        var at: Date
    }

    /// One stored record as an outcome, if it is a `downlink.applied` / `downlink.refused` event
    /// that names its role (channel) and version (value: `DesiredStateVersionValue`).
    static func outcome(of record: BatchRecord, device: String, anchors: [UUID: BootAnchor]) -> Outcome? {
        guard case .event(let kind, _) = record.kind, kind == "downlink.applied" || kind == "downlink.refused",
              let role = ["scheduler", "operator"].first(where: { record.channel == "downlink.\($0)" }),
              let version = DesiredStateVersionValue.version(record.value)
        else { return nil }
        let nanoseconds = SenMLExporter.resolvedNanoseconds(record, anchors: anchors) ?? record.utcNanoseconds
        let at = Date(timeIntervalSince1970: Double(nanoseconds) / 1e9)
        if kind == "downlink.applied" { return Outcome(device: device, role: role, version: version, outcome: "applied", at: at) }
        let reason = record.message?.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "unknown"
        return Outcome(device: device, role: role, version: version, outcome: "refused: \(reason)", at: at)
    }
}
