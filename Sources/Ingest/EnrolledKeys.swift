import Foundation
import Uplink

/// Which boards lamp-ingest accepts batches from: device ids and the Ed25519 public keys
/// enrolled for each (several per device while a key is being rotated; the batch's `kid` picks one).
///
/// On disk it is one text file, one key per line, as an installer copies it from
/// `lampctl identity show`:
///
/// ```
/// # device-id   public key (base64, 32 bytes)                  optional comment
/// pole-0042     11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=   # Main St 12, kid 21fe31dfa154a261
/// ```
///
/// Blank lines and text after `#` are ignored. A key may be enrolled for one device only.
public struct EnrolledKeys: Sendable, Equatable {
    /// Enrolled keys per device id, in file order.
    public private(set) var keysByDevice: [String: [DevicePublicKey]] = [:]
    /// The device each key is enrolled for: `add` finds a key enrolled twice in O(1), so a file
    /// of 100 000 keys loads in a fraction of a second (scanning every device was O(n²): 90 000
    /// keys took 37–57 s before `serve` listened).
    private var deviceByKey: [DevicePublicKey: String] = [:]

    public init() {}

    /// Number of enrolled keys.
    public var count: Int { deviceByKey.count }

    /// Adds `key` for `device`; refuses a key already enrolled (for this or another device).
    public mutating func add(device: DeviceID, key: DevicePublicKey) throws(IngestError) {
        if let owner = deviceByKey[key] {
            throw IngestError(
                .invalidEnrollment,
                owner == device.rawValue
                    ? "key \(key.kidHex) is already enrolled for \(owner)"
                    : "key \(key.kidHex) is already enrolled for \(owner): one key belongs to one board, "
                        + "check that you copied the key of \(device.rawValue)")
        }
        keysByDevice[device.rawValue, default: []].append(key)
        deviceByKey[key] = device.rawValue
    }

    /// The key that verifies a batch from `device` signed with `kid`.
    /// Throws `unknownDevice` or `unknownKey` (HTTP 401) when there is none.
    public func key(device: String, kid: [UInt8]) throws(IngestError) -> DevicePublicKey {
        guard let keys = keysByDevice[device] else {
            throw IngestError(
                .unknownDevice,
                "device \"\(device)\" is not enrolled: enroll it with `lamp-ingest enroll --device \(device) "
                    + "--public-key <publicKey from lampctl identity show>`")
        }
        guard let key = keys.first(where: { $0.kid == kid }) else {
            throw IngestError(
                .unknownKey,
                "device \(device) is enrolled, but not with key \(kid.hexString) that signed this batch (enrolled: "
                    + keys.map(\.kidHex).joined(separator: ", ") + "): enroll the board's current key after a rotation")
        }
        return key
    }

    /// Parses the text of an enrolled-keys file; `source` names it in error messages.
    public static func parse(_ text: String, source: String) throws(IngestError) -> EnrolledKeys {
        var keys = EnrolledKeys()
        // Bytes, not Characters: the separators are ASCII, and Character splitting of a 100 000-line
        // file spent most of its time in Unicode property lookups.
        let newline = UInt8(ascii: "\n"), hash = UInt8(ascii: "#")
        let separators: Set<UInt8> = [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r")]
        for (index, rawLine) in text.utf8.split(separator: newline, omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: hash, maxSplits: 1, omittingEmptySubsequences: false).first ?? rawLine.prefix(0)
            let fields = line.split(whereSeparator: separators.contains).map { String(decoding: $0, as: UTF8.self) }
            if fields.isEmpty { continue }
            let place = "\(source) line \(index + 1)"
            guard fields.count == 2 else {
                throw IngestError(
                    .invalidEnrollment, "\(place): expected `<device-id> <base64 public key>`, found \(fields.count) fields")
            }
            do {
                try keys.add(device: try DeviceID(fields[0]), key: try DevicePublicKey(base64: fields[1]))
            } catch let error as UplinkError {
                throw IngestError(.invalidEnrollment, "\(place): \(error.message)")
            } catch let error as IngestError {
                throw IngestError(.invalidEnrollment, "\(place): \(error.message)")
            } catch {
                throw IngestError(.invalidEnrollment, "\(place): \(error)")
            }
        }
        return keys
    }

    /// Reads an enrolled-keys file. A missing file is an error: `lamp-ingest enroll` creates it.
    public static func load(path: String) throws(IngestError) -> EnrolledKeys {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw IngestError(
                .invalidEnrollment,
                "cannot read the enrolled-keys file \(path) (\(error.localizedDescription)): "
                    + "create it with `lamp-ingest enroll --keys \(path) --device ... --public-key ...`")
        }
        return try parse(text, source: path)
    }

    /// Enrolls one key in the file at `path` (created if missing), after checking the whole file.
    /// Returns the line that was appended.
    @discardableResult
    public static func enroll(device: DeviceID, key: DevicePublicKey, comment: String?, path: String) throws(IngestError)
        -> String
    {
        var existingText = ""
        if FileManager.default.fileExists(atPath: path) {
            do {
                existingText = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw IngestError(.invalidEnrollment, "cannot read \(path): \(error.localizedDescription)")
            }
        }
        var keys = try parse(existingText, source: path)
        try keys.add(device: device, key: key)
        let note = [comment, "kid \(key.kidHex)"].compactMap { $0 }.joined(separator: ", ")
            .replacingOccurrences(of: "\n", with: " ")
        let line = "\(device.rawValue) \(key.base64)  # \(note)"
        if !existingText.isEmpty, !existingText.hasSuffix("\n") { existingText += "\n" }
        do {
            try Data((existingText + line + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw IngestError(.invalidEnrollment, "cannot write \(path): \(error.localizedDescription)")
        }
        return line
    }
}
