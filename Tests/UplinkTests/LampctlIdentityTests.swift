import Foundation
import Testing
import TestSupport

@testable import Uplink

/// `lampctl identity …` run as the technician runs it: the built binary, its output and exit codes.
@Suite("lampctl identity")
struct LampctlIdentityTests {
    static func stateDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("lampctl-identity-\(UUID().uuidString)")
    }

    func json(_ result: PythonPeer.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test("init, show --json, refuse second init, rotate")
    func lifecycle() async throws {
        let dir = Self.stateDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }

        let missing = try await PythonPeer.lampctl(["identity", "show", "--state-dir", dir.path])
        #expect(missing.exitCode == 1)
        #expect(missing.stderr.contains("lampctl identity init"))

        let created = try await PythonPeer.lampctl(["identity", "init", "--state-dir", dir.path, "--json"])
        #expect(created.exitCode == 0, "\(created.stdout) \(created.stderr)")
        let first = try json(created)

        let shown = try await PythonPeer.lampctl(["identity", "show", "--state-dir", dir.path, "--device-id", "pole-0042", "--json"])
        #expect(shown.exitCode == 0)
        let info = try json(shown)
        #expect(info["deviceID"] as? String == "pole-0042")
        #expect(info["kid"] as? String == first["kid"] as? String)
        #expect(info["algorithm"] as? String == "Ed25519")
        let publicKey = try DevicePublicKey(base64: try #require(info["publicKey"] as? String))
        #expect(info["kid"] as? String == publicKey.kidHex)
        #expect(info["fingerprint"] as? String == publicKey.fingerprint)
        #expect(info["publicKeyPEM"] as? String == publicKey.pem)
        // The key on disk is what was shown, and nothing printed contains the private key.
        let key = try DeviceKeyStore(stateDirectory: dir).load()
        #expect(key.publicKey == publicKey)
        let privateBase64 = Data(key.seed).base64EncodedString()
        #expect(!shown.stdout.contains(privateBase64) && !created.stdout.contains(privateBase64))
        let keyText = try String(contentsOf: dir.appendingPathComponent("device-key"), encoding: .utf8)
        let keyBody = keyText.split(separator: "\n")[1]
        #expect(!shown.stdout.contains(keyBody))

        let text = try await PythonPeer.lampctl(["identity", "show", "--state-dir", dir.path])
        #expect(text.stdout.contains("Fingerprint    \(publicKey.fingerprint)"))
        #expect(text.stdout.contains("-----BEGIN PUBLIC KEY-----"))

        let again = try await PythonPeer.lampctl(["identity", "init", "--state-dir", dir.path, "--json"])
        #expect(again.exitCode == 1)
        #expect(try json(again)["error"].flatMap { ($0 as? [String: Any])?["code"] as? String } == "uplink.key-exists")

        let rotated = try await PythonPeer.lampctl(["identity", "rotate", "--state-dir", dir.path, "--json"])
        #expect(rotated.exitCode == 0, "\(rotated.stderr)")
        let rotation = try json(rotated)
        #expect(rotation["retiredKid"] as? String == publicKey.kidHex)
        #expect(rotation["kid"] as? String != publicKey.kidHex)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("device-key.\(publicKey.kidHex).retired").path))
    }

    @Test("a world-readable key is refused with chmod advice; a bad device id is a usage error")
    func errors() async throws {
        let dir = Self.stateDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await PythonPeer.lampctl(["identity", "init", "--state-dir", dir.path]).exitCode == 0)
        let keyFile = dir.appendingPathComponent("device-key").path
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
        let refused = try await PythonPeer.lampctl(["identity", "show", "--state-dir", dir.path])
        #expect(refused.exitCode == 1)
        #expect(refused.stderr.contains("chmod 600 \(keyFile)"))

        let usage = try await PythonPeer.lampctl(["identity", "show", "--state-dir", dir.path, "--device-id", "pole 1"])
        #expect(usage.exitCode == 2)
        #expect(try await PythonPeer.lampctl(["identity", "frobnicate"]).exitCode == 2)
    }

    @Test("the public key printed by lampctl verifies a batch signed with the board's key, in Python")
    func pythonVerifiesWithPrintedKey() async throws {
        try await PythonPeer.requireModules()
        let dir = Self.stateDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await PythonPeer.lampctl(["identity", "init", "--state-dir", dir.path]).exitCode == 0)
        let shown = try await PythonPeer.lampctl(["identity", "show", "--state-dir", dir.path, "--json"])
        let publicKey = try #require(try json(shown)["publicKey"] as? String)

        let key = try DeviceKeyStore(stateDirectory: dir).load()
        let payload = try BatchBuilder(deviceID: Fixtures.deviceID).build(records: Fixtures.records)
        let batch = BatchSigner(identity: DeviceIdentity(deviceID: Fixtures.deviceID, key: key))
            .sign(payload: payload, sequence: 1, previousHash: [])
        let file = dir.appendingPathComponent("batch.cbor")
        try Data(batch.bytes).write(to: file)
        let verified = try await PythonPeer.run([PythonPeer.script("uplink_verify.py"), file.path, publicKey])
        #expect(verified.exitCode == 0, "\(verified.stderr)")

        var tampered = batch.bytes
        tampered[10] ^= 0x80
        try Data(tampered).write(to: file)
        #expect(try await PythonPeer.run([PythonPeer.script("uplink_verify.py"), file.path, publicKey]).exitCode != 0)
    }
}
