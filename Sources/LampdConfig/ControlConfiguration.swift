import FoundationEssentials
import TOML

/// `[control]`: lampd's control socket and who may use it (docs/control-protocol.md).
/// Optional: without it the socket is `/run/lampd/control.sock` (on the simulated
/// board `control.sock` in the state directory) and the groups `lampd` and `lampd-operators`.
public struct ControlConfiguration: Sendable, Hashable {
    /// The socket's path; nil = the default for the board (`lampd --socket` overrides both).
    public var socket: String?
    /// Group whose members may run read-only commands (`lampctl status`).
    public var readGroup: String
    /// Group whose members may also change the lamp and the spool (`lampctl lamp set`).
    public var operatorsGroup: String

    public init(socket: String? = nil, readGroup: String = "lampd", operatorsGroup: String = "lampd-operators") {
        self.socket = socket
        self.readGroup = readGroup
        self.operatorsGroup = operatorsGroup
    }

    /// Reads `[control]`; a group named there must exist on this system (getgrnam), so a
    /// typo cannot lock every technician out.
    static func read(_ table: TOMLReader, users: some UserDirectory = SystemUserDirectory()) -> ControlConfiguration {
        var configuration = ControlConfiguration()
        if let socket = table.string("socket") {
            if socket.hasPrefix("/") { configuration.socket = socket } else {
                table.report("socket", "\"\(socket)\" is not an absolute path; write e.g. \"/run/lampd/control.sock\"")
            }
        }
        for (key, keyPath) in [("read_group", \ControlConfiguration.readGroup), ("operators_group", \ControlConfiguration.operatorsGroup)] {
            guard let name = table.string(key) else { continue }
            if users.groupID(named: name) == nil {
                table.report(key, "group \"\(name)\" does not exist on this system; create it (groupadd \(name)) or name another")
            } else {
                configuration[keyPath: keyPath] = name
            }
        }
        table.rejectUnknownKeys()
        return configuration
    }

    /// `[control] socket` of the file at `path`, read leniently for lampctl's default
    /// `--socket`: nil when the file, the section or the key is missing or unreadable.
    public static func socket(configuredIn path: String) -> String? {
        guard let bytes = FileManager.default.contents(atPath: path), let root = try? TOML.parse([UInt8](bytes)),
              let socket = root["control"]?.value.table?["socket"]?.value.string, socket.hasPrefix("/") else { return nil }
        return socket
    }
}
