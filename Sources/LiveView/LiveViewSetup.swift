import Clocks
import FleetView
import Foundation
import Ingest
import Logging

/// What `lamp-ingest serve --live-view` reads from its options: the inventory, the accounts, the
/// session secret and the audit log, checked before the server starts (docs/live-view.md).
public enum LiveViewSetup {
    /// `15m`, `900s`, `1h`: 1 minute to 7 days.
    public static func offlineAfter(_ text: String) throws(LiveViewError) -> TimeInterval {
        guard let duration = DurationText.parse(text) else {
            throw LiveViewError("--offline-after \"\(text.prefix(40))\" is not a duration such as 15m, 900s or 1h")
        }
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        guard (60...(7 * 86_400)).contains(seconds) else { throw LiveViewError("--offline-after must be 1m to 7d") }
        return seconds
    }

    /// Reads the pole inventory CSV `device,label,latitude,longitude,rated_power_w` (a header line
    /// allowed, quoted labels; every problem with its line: docs/energy-report.md).
    public static func inventory(path: String) throws(LiveViewError) -> PoleInventory {
        do { return try PoleInventory(csvFile: path) } catch {
            throw LiveViewError(error.description)
        }
    }
}
