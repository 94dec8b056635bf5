import ArgumentParser
import FoundationEssentials
import Glibc
import Lighting
import Telemetry
import Uplink
import SystemSupport
import TextFormatting

/// `lampctl identity`: the board's signing key (init, show, rotate).
struct IdentityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Create, show or rotate the board's device key (Ed25519) that signs uplink batches.",
        discussion: """
            The private key stays in the state directory (mode 0600) and is never printed. \
            Register the public key (or check its fingerprint) with the city's upstream.
            """,
        subcommands: [IdentityInitCommand.self, IdentityShowCommand.self, IdentityRotateCommand.self]
    )
}

/// Options of every `lampctl identity` command.
struct IdentityOptions: ParsableArguments {
    @Option(name: .long, help: "State directory holding device-key (default: /var/lib/lampd).")
    var stateDir: String = "/var/lib/lampd"

    var store: DeviceKeyStore { DeviceKeyStore(stateDirectory: URL(fileURLWithPath: stateDir)) }
}

/// `lampctl identity init`.
struct IdentityInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the device key if there is none.",
        discussion: """
            Refuses to replace an existing key: use `lampctl identity rotate` (keeps the old key \
            as retired) or --force (destroys it; upstream will no longer verify its batches).
            """
    )

    @OptionGroup var identity: IdentityOptions
    @Flag(name: .long, help: "Replace an existing key, destroying it.") var force = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(output)
        let store = identity.store
        do {
            try FileManager.default.createDirectory(
                at: store.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw identityFailure(
                console,
                UplinkError(
                    .keyWriteFailed,
                    "cannot create the state directory \(store.directory.path): \(SystemErrorText.describe(error))"))
        }
        do {
            let key = try store.create(replacingExisting: force)
            console.line("Created a new device key.")
            report(key.publicKey, deviceID: nil, keyFile: store.keyFile, console: console)
        } catch {
            throw identityFailure(console, error)
        }
    }
}

/// `lampctl identity show`.
struct IdentityShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show the key id, fingerprint and public key (never the private key)."
    )

    @OptionGroup var identity: IdentityOptions
    @Option(name: .long, help: "The board's device id from lampd.toml, shown with the key.") var deviceId: String?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(output)
        var deviceID: DeviceID?
        if let deviceId {
            do {
                deviceID = try DeviceID(deviceId)
            } catch {
                throw identityFailure(console, error, exit: LampctlExit.usage)
            }
        }
        do {
            let key = try identity.store.load()
            report(key.publicKey, deviceID: deviceID, keyFile: identity.store.keyFile, console: console)
        } catch {
            throw identityFailure(console, error)
        }
    }
}

/// `lampctl identity rotate`.
struct IdentityRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace the device key; the old one is kept as device-key.<kid>.retired.",
        discussion: """
            Register the new public key upstream. Batches from the new key start again at \
            sequence 1; their kid tells the receiver which key signed them.
            """
    )

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let console = Console(output)
        let store = identity.store
        do {
            let (retired, current) = try store.rotate()
            console.line("Retired key \(retired.publicKey.kidHex), kept as \(store.retiredKeyFile(kidHex: retired.publicKey.kidHex).path)")
            report(current.publicKey, deviceID: nil, keyFile: store.keyFile, console: console,
                retiredKid: retired.publicKey.kidHex)
        } catch {
            throw identityFailure(console, error)
        }
    }
}

/// What `identity show` (and init, rotate) print as JSON.
struct IdentityReport: Encodable {
    var deviceID: String?
    var keyFile: String
    var algorithm = "Ed25519"
    var kid: String
    var fingerprint: String
    var publicKey: String
    var publicKeyPEM: String
    var retiredKid: String?
}

private func report(
    _ key: DevicePublicKey, deviceID: DeviceID?, keyFile: URL, console: Console, retiredKid: String? = nil
) {
    if console.json {
        console.emit(
            IdentityReport(
                deviceID: deviceID?.rawValue, keyFile: keyFile.path, kid: key.kidHex, fingerprint: key.fingerprint,
                publicKey: key.base64, publicKeyPEM: key.pem, retiredKid: retiredKid))
        return
    }
    if let deviceID { console.line("Device id      \(deviceID)") }
    console.line("Key file       \(keyFile.path)")
    console.line("Algorithm      Ed25519 (COSE EdDSA, -8)")
    console.line("Key id (kid)   \(key.kidHex)")
    console.line("Fingerprint    \(key.fingerprint)")
    console.line("Public key     \(key.base64)")
    console.line(key.pem.trimmingWhitespace())
}

/// Reports an Uplink error with its stable code (stdout JSON or stderr text) and returns the exit code.
private func identityFailure(_ console: Console, _ error: any Error, exit: ExitCode = LampctlExit.checkFailed) -> ExitCode {
    let code = (error as? UplinkError)?.code ?? "error"
    let message = (error as? UplinkError)?.message ?? String(describing: error)
    if console.json {
        print(Console.encode(["error": ["code": code, "message": message]]))
    } else {
        printError("lampctl: \(message)")
    }
    return exit
}
