import Foundation

/// A city operator key for the fleet's desired-state tests: the PKCS#8 PEM private key
/// `lamp-ingest publish --key` reads and the public key the simulated boards pin.
public enum FleetCityKey {
    /// The Ed25519 seed (hex) and its public key (base64), as in DownlinkEndToEndTests.
    public static let operatorSeed = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"
    public static let operatorPublicKey = "/FHNjmIYoaONpH7QAjDwWAgW7RO6MwOsXeuRFUiQgCU="

    /// Writes the private key to `keyPath` (mode 0600) and pins the public key as an operator
    /// key in `keysDirectory/operator/city.pub` (lampd's `[downlink] keys_dir` layout).
    public static func write(keyPath: String, keysDirectory: String) throws {
        try CityKeyFile.write(seed: CityKeyFile.seed(hex: operatorSeed), to: keyPath)
        try FileManager.default.createDirectory(atPath: keysDirectory + "/operator", withIntermediateDirectories: true)
        try (operatorPublicKey + "\n").write(toFile: keysDirectory + "/operator/city.pub", atomically: true, encoding: .utf8)
    }
}
