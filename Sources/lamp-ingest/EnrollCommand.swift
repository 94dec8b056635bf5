import ArgumentParser
import Foundation
import Ingest
import Uplink

/// `lamp-ingest enroll`: adds one board's public key to the enrolled-keys file.
struct EnrollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll a board's public key (from `lampctl identity show` on the board).",
        discussion: """
            Appends `<device> <public key>  # <comment>, kid <kid>` to the keys file (created if \
            missing). Enroll the new key before or right after `lampctl identity rotate`; keep the \
            old one until the board's last batch of the old key has arrived. A running server \
            picks the change up within a second.
            """
    )

    @Option(name: .long, help: "The enrolled-keys file.")
    var keys: String

    @Option(name: .long, help: "The board's device id, e.g. pole-0042.")
    var device: String

    @Option(name: .long, help: "The board's publicKey (base64) from `lampctl identity show --json`, or a PEM file.")
    var publicKey: String

    @Option(name: .long, help: "A note kept in the file, e.g. the pole's address.")
    var comment: String?

    func run() throws {
        do {
            let id = try DeviceID(device)
            let key =
                FileManager.default.fileExists(atPath: publicKey)
                ? try DevicePublicKey(pem: String(contentsOfFile: publicKey, encoding: .utf8))
                : try DevicePublicKey(base64: publicKey)
            try EnrolledKeys.enroll(device: id, key: key, comment: comment, path: keys)
            print("enrolled \(id.rawValue): kid \(key.kidHex), fingerprint \(key.fingerprint)")
            print("compare the fingerprint with `lampctl identity show` on the board")
        } catch let error as UplinkError {
            throw fail(IngestError(.invalidEnrollment, error.message))
        } catch {
            throw fail(error)
        }
    }
}
