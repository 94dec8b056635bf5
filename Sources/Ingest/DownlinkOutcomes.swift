import Foundation

/// Reads the boards' `downlink.applied` / `downlink.refused` events (channel `downlink.<role>`,
/// value the version; docs/downlink.md) from the stored, signed batches and records each outcome
/// in the published-state store. Events whose role or version the board could not tell (a
/// document that did not even verify) name no published version and are skipped.
public enum DownlinkOutcomes {
    public static func record(from ingest: any BatchStore, device: String?, into store: any PublishedStateStore) async throws(IngestError) {
        var outcomes: [(device: String, role: String, version: UInt64, outcome: String, at: Date)] = []
        do {
            _ = try await SenMLExporter(store: ingest).export(ExportFilter(device: device)) { text in
                // One record a line (`{…},`), several lines in a chunk.
                for line in text.split(separator: "\n") where line.contains("downlink.applied") || line.contains("downlink.refused") {
                    guard let start = line.firstIndex(of: "{"), let end = line.lastIndex(of: "}"),
                          let object = try? JSONSerialization.jsonObject(with: Data(line[start...end].utf8)) as? [String: Any],
                          let outcome = parse(object)
                    else { continue }
                    outcomes.append(outcome)
                }
            }
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.storeFailed, "cannot read the boards' events from \(ingest.location): \(error)")
        }
        for outcome in outcomes {
            try store.recordOutcome(device: outcome.device, role: outcome.role, version: outcome.version, outcome: outcome.outcome, at: outcome.at)
        }
    }

    /// The SenML base name's start (`SenMLRecordFields.baseName`): `urn:dev:lampd:<device>:`.
    static let prefix = "urn:dev:lampd:"

    /// One exported event record (`n` = `urn:dev:lampd:<device>:downlink.<role>/event/<kind>`, `val` the
    /// version, `vs` the message, `t` the time) as an outcome.
    static func parse(_ record: [String: Any]) -> (device: String, role: String, version: UInt64, outcome: String, at: Date)? {
        guard let name = record["n"] as? String, let value = (record["val"] as? NSNumber)?.doubleValue, value >= 1, value < 9.2e18,
              let role = ["scheduler", "operator"].first(where: { name.contains("downlink.\($0)") }),
              name.hasPrefix(prefix), let device = name.dropFirst(prefix.count).split(separator: ":").first.map(String.init)
        else { return nil }
        let at = ((record["t"] as? NSNumber)?.doubleValue).map { Date(timeIntervalSince1970: $0) } ?? Date()
        if name.contains("downlink.applied") { return (device, role, UInt64(value), "applied", at) }
        let reason = (record["vs"] as? String)?.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "unknown"
        return (device, role, UInt64(value), "refused: \(reason)", at)
    }
}
