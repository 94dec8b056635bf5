import Foundation
import Testing

@testable import Uplink

@Suite("Device identity and key store")
struct DeviceIdentityTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("uplink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func mode(_ url: URL) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? -1
    }

    @Test("kid, fingerprint, base64 and PEM of the RFC 8032 test key")
    func publicForms() throws {
        let key = Fixtures.key.publicKey
        #expect(hex(key.rawRepresentation) == Fixtures.publicKeyHex)
        // sha256(d75a98…511a) = 21fe31df a154a261 …
        #expect(key.kidHex.count == 16)
        #expect(key.kid == Array(bytes(hex: key.kidHex)))
        #expect(key.fingerprint.split(separator: ":").count == 8)
        #expect(key.fingerprint.hasPrefix(key.kidHex.prefix(4).uppercased()))
        #expect(key.base64 == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
        #expect(key.pem == "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n")
        #expect(try DevicePublicKey(pem: key.pem) == key)
        #expect(try DevicePublicKey(base64: key.base64) == key)
        #expect(throws: UplinkError.self) { try DevicePublicKey(base64: "AAAA") }
    }

    @Test("signatures are RFC 8032 Ed25519 (TEST 1: empty message)")
    func rfc8032() {
        let signature = Fixtures.key.signature(for: [UInt8]())
        #expect(
            hex(signature)
                == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
    }

    @Test("descriptions never contain the private key")
    func noLeak() {
        let text = "\(Fixtures.key) \(Fixtures.identity) \(String(reflecting: Fixtures.identity))"
        #expect(!text.contains("9d61b19d"))
        #expect(!text.lowercased().contains(Data(Fixtures.seed).base64EncodedString().lowercased()))
        #expect(text.contains(Fixtures.key.publicKey.kidHex))
    }

    @Test("init creates a 0600 PKCS#8 key, load reads it back, a second init is refused")
    func createAndLoad() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = DeviceKeyStore(stateDirectory: directory)
        #expect(throws: UplinkError.self) { try store.load() }
        do {
            _ = try store.load()
        } catch {
            #expect(error.reason == .keyMissing)
            #expect(error.message.contains("lampctl identity init"))
        }
        let key = try store.create()
        #expect(try Self.mode(store.keyFile) == 0o600)
        let text = try String(contentsOf: store.keyFile, encoding: .utf8)
        #expect(text.hasPrefix("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"))
        #expect(try store.load().publicKey == key.publicKey)
        do {
            try store.create()
            Issue.record("second create succeeded")
        } catch {
            #expect(error.reason == .keyExists)
        }
        let replaced = try store.create(replacingExisting: true)
        #expect(replaced.publicKey != key.publicKey)
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["device-key"])
    }

    @Test("a key file readable by group or others is refused with chmod advice", arguments: [0o640, 0o604, 0o644])
    func permissions(mode: Int) throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = DeviceKeyStore(stateDirectory: directory)
        try store.create()
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: store.keyFile.path)
        do {
            _ = try store.load()
            Issue.record("loaded a key with mode \(String(mode, radix: 8))")
        } catch {
            #expect(error.reason == .keyPermissions)
            #expect(error.message.contains("chmod 600 \(store.keyFile.path)"))
        }
    }

    @Test("a corrupt key file is refused")
    func corrupt() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = DeviceKeyStore(stateDirectory: directory)
        _ = FileManager.default.createFile(
            atPath: store.keyFile.path, contents: Data("-----BEGIN PRIVATE KEY-----\nAAAA\n".utf8),
            attributes: [.posixPermissions: 0o600])
        #expect { try store.load() } throws: { ($0 as? UplinkError)?.reason == .keyUnreadable }
    }

    @Test("a key file that is not UTF-8 text is called what it is, not a permission problem (issue 11 #17)")
    func notText() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = DeviceKeyStore(stateDirectory: directory)
        _ = FileManager.default.createFile(
            atPath: store.keyFile.path, contents: Data([0x2D, 0x2D, 0xE9, 0xFF, 0x00, 0x80]),
            attributes: [.posixPermissions: 0o600])
        do {
            _ = try store.load()
            Issue.record("a key file of binary bytes was accepted")
        } catch {
            #expect(error.reason == .keyUnreadable)
            #expect(!error.message.contains("permission"))
            #expect(error.message.contains("not UTF-8"))
            #expect(error.message.contains("lampctl identity init"))
        }
    }

    @Test("rotate keeps the old key as device-key.<kid>.retired and makes a new one")
    func rotate() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = DeviceKeyStore(stateDirectory: directory)
        let first = try store.create()
        let (retired, current) = try store.rotate()
        #expect(retired.publicKey == first.publicKey)
        #expect(current.publicKey != first.publicKey)
        #expect(try store.load().publicKey == current.publicKey)
        let retiredFile = store.retiredKeyFile(kidHex: first.publicKey.kidHex)
        #expect(try Self.mode(retiredFile) == 0o600)
        #expect(try DeviceKeyStore.read(retiredFile).publicKey == first.publicKey)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
                == ["device-key", "device-key.\(first.publicKey.kidHex).retired"])
    }

    @Test("device ids are checked")
    func deviceIDs() {
        #expect(DeviceID(rawValue: "pole-0042") != nil)
        #expect(DeviceID(rawValue: "Berlin_Mitte.17") != nil)
        for bad in ["", "-pole", "pole 1", "pole/1", "pole:1", String(repeating: "a", count: 65), "pöle"] {
            #expect(DeviceID(rawValue: bad) == nil, "\(bad)")
        }
        #expect { try DeviceID("pole 1") } throws: { ($0 as? UplinkError)?.reason == .invalidDeviceID }
    }
}
