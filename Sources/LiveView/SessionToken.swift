import Crypto
import Foundation
import SystemSupport

/// The session cookie's value: `NAME.ROLE.EXPIRY.MAC`, the MAC an HMAC-SHA256 over the rest with
/// the secret file's key. Stateless, so every replica that reads the same secret file accepts the
/// sessions of the others (docs/live-view.md "Several replicas").
public struct SessionSigner: Sendable {
    private let secret: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: secret) }
    /// How long a session lasts.
    public let lifetime: TimeInterval

    public static let cookieName = "lampd_session"

    public init(secret: [UInt8], lifetime: TimeInterval = 12 * 3600) {
        self.secret = secret
        self.lifetime = lifetime
    }

    /// Reads the secret file, creating it (32 random bytes, mode 0600) when absent.
    public static func secret(path: String) throws(LiveViewError) -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 32 else { throw LiveViewError("the session secret \(path) holds \(data.count) bytes, fewer than 32: remove it to make a new one") }
            return Array(data)
        }
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255) }
        do {
            try DurableFile.replace(path: path, with: secret, mode: 0o600)
        } catch {
            throw LiveViewError("cannot write the session secret \(path): \(error)")
        }
        return secret
    }

    /// A token for `account` valid until `now + lifetime`.
    public func token(name: String, role: AccountRole, now: Date = Date()) -> String {
        let expiry = Int64(now.timeIntervalSince1970.rounded(.down)) + Int64(lifetime)
        let payload = "\(name).\(role.rawValue).\(expiry)"
        return payload + "." + Self.hex(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key))
    }

    /// The session a token carries, if its MAC is right and it has not expired.
    public func session(_ token: String, now: Date = Date()) -> Session? {
        guard token.utf8.count <= 256 else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, let role = AccountRole(rawValue: String(parts[1])), let expiry = Int64(parts[2]),
            let mac = Self.bytes(hex: parts[3])
        else { return nil }
        let payload = parts[0...2].joined(separator: ".")
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(payload.utf8), using: key) else { return nil }
        guard Double(expiry) > now.timeIntervalSince1970 else { return nil }
        return Session(name: String(parts[0]), role: role)
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private static func bytes(hex: Substring) -> [UInt8]? {
        guard hex.utf8.count == 64 else { return nil }
        var result: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            result.append(h << 4 | l)
        }
        return result
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

/// Who is signed in.
public struct Session: Sendable, Equatable {
    public var name: String
    public var role: AccountRole
}
