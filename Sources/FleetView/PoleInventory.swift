import Foundation

/// One pole of the city's inventory: where it stands and what its lamp draws at full power.
public struct Pole: Sendable, Equatable, Codable {
    /// The board's device id, as enrolled (`lamp-ingest enroll`).
    public var device: String
    /// What an operator calls it ("Rue Royale 12"); the device id when the inventory gives none.
    public var label: String
    public var latitudeDegrees: Double
    public var longitudeDegrees: Double
    /// The lamp's power at 100 %, from the luminaire's data sheet: the baseline of every saving.
    public var ratedPowerWatts: Double

    public init(device: String, label: String, latitudeDegrees: Double, longitudeDegrees: Double, ratedPowerWatts: Double) {
        self.device = device
        self.label = label
        self.latitudeDegrees = latitudeDegrees
        self.longitudeDegrees = longitudeDegrees
        self.ratedPowerWatts = ratedPowerWatts
    }
}

/// The city's pole inventory (docs/live-view.md): every pole the live view shows, read from a
/// CSV file `device,label,latitude,longitude,rated_power_w`.
public struct PoleInventory: Sendable {
    /// In the file's order.
    public private(set) var poles: [Pole]
    private var index: [String: Int]

    public init(poles: [Pole]) {
        self.poles = poles
        var index: [String: Int] = [:]
        for (position, pole) in poles.enumerated() where index[pole.device] == nil { index[pole.device] = position }
        self.index = index
    }

    public subscript(device: String) -> Pole? { index[device].map { poles[$0] } }
}
