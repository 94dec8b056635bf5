import Foundation
import Ingest
import Testing
import Logging
import TestSupport
import Uplink

@Suite("Enrolled keys file")
struct EnrolledKeysTests {
    let keyA = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

    @Test("lines `<device> <base64>` with comments and blank lines; the kid picks the key")
    func parse() throws {
        let boardB = try TestBoard(device: "pole-0042", seedByte: 3)
        let text = """
            # city pilot
            pole-0042 \(keyA)   # Main St 12

            pole-0042\t\(boardB.publicKey.base64)
            """
        let keys = try EnrolledKeys.parse(text, source: "test")
        #expect(keys.count == 2)
        #expect(try keys.key(device: "pole-0042", kid: boardB.publicKey.kid) == boardB.publicKey)
        let a = try DevicePublicKey(base64: keyA)
        #expect(try keys.key(device: "pole-0042", kid: a.kid) == a)
        #expect(throws: IngestError.self) { try keys.key(device: "pole-0043", kid: a.kid) }
        do {
            _ = try keys.key(device: "pole-0042", kid: [0, 0, 0, 0, 0, 0, 0, 0])
            Issue.record("an unknown kid must throw")
        } catch {
            #expect(error.reason == .unknownKey)
        }
    }

    @Test("bad lines name the file and line", arguments: [
        "pole-0042", "pole-0042 notbase64!!", "pole 0042 \u{0}", "bad/id 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        "pole-0042 AAAA",
    ])
    func badLines(line: String) {
        do {
            _ = try EnrolledKeys.parse("# ok\n\(line)\n", source: "keys.txt")
            Issue.record("\(line) must be refused")
        } catch {
            #expect(error.reason == .invalidEnrollment)
            #expect(error.message.hasPrefix("keys.txt line 2:"))
        }
    }

    @Test("enroll creates the file, appends, and refuses a key enrolled twice")
    func enroll() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("enrolled-keys").path
        let a = try DevicePublicKey(base64: keyA)
        let b = try TestBoard(seedByte: 5).publicKey
        try EnrolledKeys.enroll(device: try DeviceID("pole-0042"), key: a, comment: "Main St 12", path: path)
        try EnrolledKeys.enroll(device: try DeviceID("pole-0043"), key: b, comment: nil, path: path)
        let keys = try EnrolledKeys.load(path: path)
        #expect(keys.keysByDevice["pole-0042"] == [a])
        #expect(keys.keysByDevice["pole-0043"] == [b])
        #expect(throws: IngestError.self) {
            try EnrolledKeys.enroll(device: try DeviceID("pole-0044"), key: a, comment: nil, path: path)
        }
        #expect(try EnrolledKeys.load(path: path) == keys)
    }

    /// A fleet's keys file: `count` boards with one distinct key each (seeded).
    static func fleetKeysFile(count: Int) -> (text: String, keys: [DevicePublicKey]) {
        var random = SeededRandom(seed: 0x6B65_7973)
        var keys: [DevicePublicKey] = []
        keys.reserveCapacity(count)
        while keys.count < count {
            if let key = try? DevicePublicKey(rawRepresentation: random.bytes(32)) { keys.append(key) }
        }
        let text = keys.enumerated().map { "pole-\($0.offset) \($0.element.base64)" }.joined(separator: "\n") + "\n"
        return (text, keys)
    }

    @Test("100 000 keys load (a key → device index, not a scan of all devices per key); a key enrolled twice is still refused",
          .timeLimit(.minutes(1)))
    func manyKeysLoadAndDuplicatesAreRefused() throws {
        let fleet = Self.fleetKeysFile(count: 100_000)
        let keys = try EnrolledKeys.parse(fleet.text, source: "keys.txt")
        #expect(keys.count == 100_000)
        #expect(try keys.key(device: "pole-99999", kid: fleet.keys[99_999].kid) == fleet.keys[99_999])
        // The first key again, for another board and for its own: line 100 001, named with its owner.
        for (device, expected) in [("pole-x", "already enrolled for pole-0: one key belongs to one board"),
                                   ("pole-0", "already enrolled for pole-0")] {
            do {
                _ = try EnrolledKeys.parse(fleet.text + "\(device) \(fleet.keys[0].base64)\n", source: "keys.txt")
                Issue.record("a key enrolled twice must be refused (\(device))")
            } catch {
                #expect(error.reason == .invalidEnrollment)
                #expect(error.message.hasPrefix("keys.txt line 100001:") && error.message.contains(expected), "\(error.message)")
            }
        }
    }

    @Test("a missing keys file is a clear error")
    func missing() {
        do {
            _ = try EnrolledKeys.load(path: "/nonexistent/enrolled-keys")
            Issue.record("must throw")
        } catch {
            #expect(error.reason == .invalidEnrollment)
        }
    }
}

@Suite("Key registry of a running server")
struct KeyRegistryTests {
    @Test("a key enrolled while running is picked up; a broken file keeps the previous keys")
    func reload() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("enrolled-keys").path
        let a = try TestBoard(device: "pole-a", seedByte: 1)
        let b = try TestBoard(device: "pole-b", seedByte: 2)
        try EnrolledKeys.enroll(device: a.identity.deviceID, key: a.publicKey, comment: nil, path: path)
        let registry = try KeyRegistry(path: path, checkInterval: .zero, logger: Logger(label: "test"))
        #expect(registry.keys.keysByDevice["pole-b"] == nil)

        try EnrolledKeys.enroll(device: b.identity.deviceID, key: b.publicKey, comment: nil, path: path)
        #expect(registry.keys.keysByDevice["pole-b"] == [b.publicKey])

        try Data("pole-c not-a-key\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(registry.keys.count == 2)
    }
}
