import FleetView
import Foundation
import Logging

/// Alarm acknowledgements outlive the process (docs/live-view.md "Audit"): a FleetState rebuilt
/// from the store (at start, or after a PostgreSQL LISTEN reconnection) takes them back from the
/// audit log, which holds every one.
public enum Acknowledgements {
    /// Marks acknowledged every alarm still active whose acknowledgement is in `auditLog`, made
    /// since the alarm started (an acknowledgement of an earlier raising of the same alarm does
    /// not count). Malformed or truncated lines are skipped with a warning. Returns how many.
    @discardableResult
    public static func restore(into fleet: FleetState, from auditLog: AuditLog, logger: Logger) async -> Int {
        let contents = await auditLog.read()
        if !contents.malformedLines.isEmpty {
            logger.warning("live view: audit log lines skipped: not an entry (torn by a crash or edited?)",
                           metadata: ["log": "\(auditLog.path)", "lines": "\(contents.malformedLines.prefix(20).map(String.init).joined(separator: ","))"])
        }
        var restored = 0
        for entry in contents.entries where entry.action == "acknowledge" {
            guard let active = await fleet.summary(device: entry.device)?.alarms.first(where: { $0.alarm == entry.alarm }),
                  entry.at >= active.since
            else { continue }
            if await fleet.acknowledge(device: entry.device, alarm: entry.alarm, by: entry.user, note: entry.note, at: entry.at) { restored += 1 }
        }
        return restored
    }
}
