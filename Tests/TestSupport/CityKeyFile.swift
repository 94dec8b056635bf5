import Foundation

/// A city role key as `lamp-ingest publish --key` reads it: an Ed25519 private key in PKCS#8 PEM,
/// readable by its owner only (mode 0600 unless `mode` says otherwise), in the temporary directory.
public enum CityKeyFile {
    public static func write(seed: [UInt8], mode: Int = 0o600) throws -> String {
        let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        let pem = "-----BEGIN PRIVATE KEY-----\n\(Data(prefix + seed).base64EncodedString())\n-----END PRIVATE KEY-----\n"
        let path = NSTemporaryDirectory() + "city-\(UUID().uuidString).key"
        try pem.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }
}
