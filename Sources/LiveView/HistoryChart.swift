import FleetView
import Foundation

/// A pole's last days as an inline SVG line chart, drawn on the server: one chart per channel
/// (power, energy, lamp level). Only numbers and fixed labels go into it, never board text.
enum HistoryChart {
    static let width = 640.0
    static let height = 140.0

    /// The chart of `channel`'s readings between `from` and `to`; nil when there is none.
    static func svg(_ readings: [HistoryReading], channel: String, title: String, unit: String, from: Date, to: Date) -> String? {
        let points = readings.filter { $0.channel == channel && $0.value.isFinite && $0.time >= from && $0.time <= to }
        guard !points.isEmpty else { return nil }
        let span = max(to.timeIntervalSince(from), 1)
        let low = min(points.map(\.value).min() ?? 0, 0)
        let high = max(points.map(\.value).max() ?? 1, low + 1)
        let path = points.map { reading in
            let x = reading.time.timeIntervalSince(from) / span * width
            let y = height - (reading.value - low) / (high - low) * (height - 10) - 5
            return String(format: "%.1f,%.1f", x, y)
        }.joined(separator: " ")
        return """
            <figure class="chart"><figcaption>\(title) (\(unit), max \(String(format: "%.1f", high)))</figcaption>\
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" preserveAspectRatio="none" role="img" aria-label="\(title)">\
            <polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="\(path)"/></svg></figure>
            """
    }
}
