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
    /// allowed). TODO(merge): use the energy work's PoleInventory reader when it lands.
    public static func inventory(path: String) throws(LiveViewError) -> PoleInventory {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LiveViewError("cannot read the pole inventory \(path): \(error)")
        }
        var poles: [Pole] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || (number == 0 && trimmed.hasPrefix("device,")) { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 5, !fields[0].isEmpty, let latitude = Double(fields[2]), let longitude = Double(fields[3]),
                let watts = Double(fields[4]), (-90...90).contains(latitude), (-180...180).contains(longitude), watts.isFinite, watts >= 0
            else {
                throw LiveViewError("\(path):\(number + 1): not `device,label,latitude,longitude,rated_power_w` with a latitude −90…90, a longitude −180…180 and a power ≥ 0")
            }
            poles.append(Pole(device: fields[0], label: fields[1].isEmpty ? fields[0] : fields[1], latitudeDegrees: latitude,
                              longitudeDegrees: longitude, ratedPowerWatts: watts))
        }
        return PoleInventory(poles: poles)
    }
}
