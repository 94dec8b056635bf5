import FoundationEssentials

/// Where the pole stands: WGS-84 latitude and longitude in decimal degrees.
///
/// Latitude is −90 … +90 (north positive), longitude −180 … +180 (east positive).
public struct GeoLocation: Hashable, Sendable, Codable {
    public var latitudeDegrees: Double
    public var longitudeDegrees: Double

    /// Creates a location; returns nil when a coordinate is out of range or not a number.
    public init?(latitudeDegrees: Double, longitudeDegrees: Double) {
        guard latitudeDegrees.isFinite, longitudeDegrees.isFinite,
              (-90...90).contains(latitudeDegrees), (-180...180).contains(longitudeDegrees)
        else { return nil }
        self.latitudeDegrees = latitudeDegrees
        self.longitudeDegrees = longitudeDegrees
    }
}
