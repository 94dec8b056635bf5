import Foundation

/// A city role key as `lamp-ingest publish --key` reads it: an Ed25519 private key in PKCS#8 PEM,
/// readable by its owner only (mode 0600 unless `mode` says otherwise).
public enum CityKeyFile {
    /// The PKCS#8 PEM text of the Ed25519 key with this 32-byte seed.
    public static func pem(seed: [UInt8]) -> String {
        let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        return "-----BEGIN PRIVATE KEY-----\n\(Data(prefix + seed).base64EncodedString())\n-----END PRIVATE KEY-----\n"
    }

    /// Writes the key to a new file in the temporary directory; returns its path.
    public static func write(seed: [UInt8], mode: Int = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "city-\(UUID().uuidString).key"
        try write(seed: seed, to: path, mode: mode)
        return path
    }

    /// Writes the key to `path`.
    public static func write(seed: [UInt8], to path: String, mode: Int = 0o600) throws {
        try pem(seed: seed).write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// The bytes of a seed written in hex (a test vector; traps on a typo in the test itself).
    public static func seed(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}
