import FoundationEssentials
import Uplink

/// A city public key pinned on the board, with the role it signs for.
public struct PinnedCityKey: Hashable, Sendable {
    public var publicKey: DevicePublicKey
    public var role: DesiredStateRole
    /// Where it was read from (for `lampctl` and messages), or a name given by a test.
    public var source: String

    public init(publicKey: DevicePublicKey, role: DesiredStateRole, source: String) {
        self.publicKey = publicKey
        self.role = role
        self.source = source
    }
}

/// The city keys a board trusts, found by `kid` (the first 8 bytes of SHA-256 of the raw
/// public key, as for device keys).
///
/// On the board they live in `[downlink] keys_dir` (default `/etc/lampd/city-keys/`): one file
/// per key in `scheduler/` or `operator/`, a PEM `PUBLIC KEY` or the base64 of the 32 raw bytes.
/// Several keys per role are allowed, so a key is rotated by adding the new one, publishing with
/// it, then removing the old one (docs/downlink.md, "Keys").
public struct CityKeyring: Sendable {
    public private(set) var keys: [PinnedCityKey]

    public init(keys: [PinnedCityKey]) {
        self.keys = keys
    }

    /// The key with `kid`, if pinned.
    public func key(kid: [UInt8]) -> PinnedCityKey? {
        keys.first { $0.publicKey.kid == kid }
    }

    /// The default directory.
    public static let defaultDirectory = "/etc/lampd/city-keys"

    /// Reads `directory/scheduler/*` and `directory/operator/*`. A file that is not a key, or a
    /// key pinned for both roles, is left out and named in `problems` (lampd logs them and goes
    /// on: a bad key file never stops lamp control). Files starting with `.` are skipped.
    public static func load(directory: String) -> (keyring: CityKeyring, problems: [String]) {
        var keys: [PinnedCityKey] = []
        var problems: [String] = []
        for role in DesiredStateRole.allCases {
            let roleDirectory = directory + "/" + role.rawValue
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: roleDirectory) else {
                problems.append("\(roleDirectory) cannot be read: no \(role.rawValue) key is pinned, so documents signed for that role are refused")
                continue
            }
            for name in names.sorted() where !name.hasPrefix(".") {
                let path = roleDirectory + "/" + name
                guard let data = FileManager.default.contents(atPath: path), data.count <= 4096,
                      let text = String(data: data, encoding: .utf8)
                else {
                    problems.append("\(path) cannot be read as a text file of at most 4 KiB: left out")
                    continue
                }
                let key: DevicePublicKey
                do {
                    key = text.contains("-----BEGIN") ? try DevicePublicKey(pem: text) : try DevicePublicKey(base64: text)
                } catch {
                    problems.append("\(path) is not an Ed25519 public key (PEM or base64 of 32 bytes): left out")
                    continue
                }
                keys.append(PinnedCityKey(publicKey: key, role: role, source: path))
            }
        }
        // One key, one role: a key pinned for both would let an operator set schedules.
        let byKid = Dictionary(grouping: keys, by: { $0.publicKey.kid })
        for (kid, same) in byKid where Set(same.map(\.role)).count > 1 {
            problems.append("key \(kid.hexString) is pinned for both roles (\(same.map(\.source).joined(separator: ", "))): left out; pin it in one role only")
            keys.removeAll { $0.publicKey.kid == kid }
        }
        return (CityKeyring(keys: keys), problems)
    }
}
