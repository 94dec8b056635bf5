import Foundation
import Lighting

/// Where the simulated boards stand: a square grid of streets around the centre, `spacingMetres`
/// apart, board n at street n / side, number n mod side; rated power from the plan (40–120 W).
struct FleetPoles {
    let plan: FleetPlan
    let center: GeoLocation
    let spacingMetres: Double

    /// Metres per degree of latitude (and of longitude at the equator).
    static let metresPerDegree = 111_320.0

    /// Boards per street: the grid's side (the plan's board count is bounded, so the conversion cannot trap).
    var side: Int { max(1, Int(exactly: Double(plan.boards).squareRoot().rounded(.up)) ?? 1) }

    func position(_ board: Int) -> (latitude: Double, longitude: Double) {
        let row = Double(board / side) - Double(side - 1) / 2
        let column = Double(board % side) - Double(side - 1) / 2
        let latitude = center.latitudeDegrees + row * spacingMetres / Self.metresPerDegree
        let longitude = center.longitudeDegrees
            + column * spacingMetres / (Self.metresPerDegree * max(0.05, cos(center.latitudeDegrees * .pi / 180)))
        return (min(90, max(-90, latitude)), ((longitude + 540).truncatingRemainder(dividingBy: 360)) - 180)
    }

    /// The inventory lamp-ingest reads (docs/energy-report.md), labels quoted ("Fleet street 3, 12").
    func csv() -> String {
        var text = "device,label,latitude,longitude,rated_power_w\n"
        for board in 0..<plan.boards {
            let (latitude, longitude) = position(board)
            text += "\(plan.deviceID(board)),\"Fleet street \(board / side + 1), \(board % side + 1)\","
                + String(format: "%.6f,%.6f,%.0f\n", latitude, longitude, plan.ratedPowerWatts(board))
        }
        return text
    }
}
