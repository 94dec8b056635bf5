import Crypto
import FoundationEssentials
import Telemetry
import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The device key on disk: `device-key` in the state directory (on a board `/var/lib/lampd`).
///
/// The file is a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 8410), so `openssl pkey` can
/// read it if ever needed. It is written with mode 0600 to a temporary file, fsynced, renamed
/// into place and the directory fsynced: a power cut leaves either the old key or the new one,
/// never half a key. A key file that group or others can read is refused (someone may have
/// copied it): the error says to `chmod 600` it, or rotate if it may have leaked.
///
/// Rotation keeps the old key as `device-key.<kid>.retired` (same mode) so batches signed with
/// it can still be verified, and makes a new one.
public struct DeviceKeyStore: Sendable {
    /// The key file's name in the state directory.
    public static let keyFileName = "device-key"

    /// The state directory.
    public let directory: URL

    public init(stateDirectory: URL) {
        self.directory = stateDirectory
    }

    /// Path of the current key file.
    public var keyFile: URL { directory.appendingPathComponent(Self.keyFileName) }

    /// Path a key with `kid` is kept under after rotation.
    public func retiredKeyFile(kidHex: String) -> URL {
        directory.appendingPathComponent("\(Self.keyFileName).\(kidHex).retired")
    }

    /// True if a key file exists.
    public var hasKey: Bool { FileManager.default.fileExists(atPath: keyFile.path) }

    /// Reads the current key.
    public func load() throws(UplinkError) -> DeviceKey {
        try Self.read(keyFile)
    }

    /// Makes a new key and stores it. Refuses if one exists unless `replacingExisting`
    /// (which destroys the old key: use `rotate()` to keep it).
    @discardableResult
    public func create(replacingExisting: Bool = false) throws(UplinkError) -> DeviceKey {
        if hasKey && !replacingExisting {
            throw UplinkError(
                .keyExists,
                "a device key already exists at \(keyFile.path); use `lampctl identity rotate` to replace it "
                    + "(the old key is kept as retired)")
        }
        let key = DeviceKey.generate()
        try write(key, to: keyFile)
        return key
    }

    /// Replaces the current key with a new one, keeping the old one as `device-key.<kid>.retired`.
    /// Returns both. The new key's batches start again at sequence 1 (docs/uplink.md).
    public func rotate() throws(UplinkError) -> (retired: DeviceKey, current: DeviceKey) {
        let old = try load()
        let retiredFile = retiredKeyFile(kidHex: old.publicKey.kidHex)
        // Keep the old key under its retired name first (a hard link: no second copy to get
        // wrong); if the power fails after this, the old key is still current, nothing is lost.
        if link(keyFile.path, retiredFile.path) != 0 && errno != EEXIST {
            throw UplinkError(
                .keyWriteFailed,
                "could not keep the old key as \(retiredFile.path): \(String(cString: strerror(errno)))")
        }
        let new = DeviceKey.generate()
        try write(new, to: keyFile)
        return (old, new)
    }

    // MARK: - File format

    /// DER prefix of an Ed25519 PKCS#8 OneAsymmetricKey (RFC 8410 §7) before the 32-byte seed.
    static let pkcs8Prefix: [UInt8] = [
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    static func pem(of key: DeviceKey) -> String {
        let der = Data(pkcs8Prefix + key.seed).base64EncodedString()
        return "-----BEGIN PRIVATE KEY-----\n\(der)\n-----END PRIVATE KEY-----\n"
    }

    static func read(_ file: URL) throws(UplinkError) -> DeviceKey {
        var info = stat()
        guard stat(file.path, &info) == 0 else {
            if errno == ENOENT {
                throw UplinkError(
                    .keyMissing, "no device key at \(file.path): run `lampctl identity init` to create one")
            }
            throw UplinkError(.keyUnreadable, "cannot read \(file.path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw UplinkError(
                .keyPermissions,
                "device key \(file.path) can be read by group or others (mode "
                    + String(info.st_mode & 0o777, radix: 8)
                    + "): run `chmod 600 \(file.path)`, and `lampctl identity rotate` if it may have been copied")
        }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw UplinkError(.keyUnreadable, "cannot read \(file.path) (permission denied? run as the lampd user)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw UplinkError(
                .keyUnreadable,
                "\(file.path) is not a PEM text file (it holds bytes that are not UTF-8 text), so it does not hold an Ed25519 private key; move it aside and run `lampctl identity init`")
        }
        guard let key = DeviceKey(pkcs8PEM: text) else {
            throw UplinkError(
                .keyUnreadable,
                "\(file.path) does not hold an Ed25519 private key; move it aside and run `lampctl identity init`")
        }
        return key
    }

    /// Writes `key` to `file` durably with mode 0600 (`DurableFile`: a temporary file created 0600,
    /// fsync, rename, fsync of the directory).
    func write(_ key: DeviceKey, to file: URL) throws(UplinkError) {
        var bytes = Array(Self.pem(of: key).utf8)
        defer {
            // Overwrite the PEM copy in memory; best effort, the key object itself remains.
            for i in bytes.indices { bytes[i] = 0 }
        }
        do {
            try DurableFile.replace(path: file.path, with: bytes, mode: 0o600)
        } catch {
            throw UplinkError(
                .keyWriteFailed,
                "could not \(error.step) the key file in \(directory.path): \(String(cString: strerror(error.errno))); "
                    + "check that the state directory exists and is writable")
        }
    }
}
