import FoundationEssentials
import Telemetry
import TOMLKit

/// The last configuration lampd started with successfully, kept in the
/// state directory, so that a broken edit of `/etc/lampd/lampd.toml` does
/// not leave a street dark: lampd then runs on the last good one, raises a
/// `config.invalid` alarm and logs every problem (DESIGN.md principle 1).
public enum LastGoodConfiguration {
    /// File name in the state directory.
    public static let fileName = "last-good.toml"

    /// Keeps `text` (a configuration that just loaded) as the last good one.
    /// Replaced durably (`DurableFile`): a power cut leaves either the old
    /// or the new file, never half of one.
    public static func save(_ text: String, stateDirectory: String) throws {
        let path = FilePaths.join(stateDirectory, fileName)
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing == text { return }
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try DurableFile.replace(path: path, with: Data(text.utf8))
    }

    /// The state directory a broken file names, as far as it can be read
    /// (`[storage] directory`), otherwise the default `/var/lib/lampd`.
    public static func stateDirectory(fromBroken text: String?) -> String {
        guard let text, let table = try? TOMLTable(string: text),
              let directory = table["storage"]?.table?["directory"]?.string else {
            return "/var/lib/lampd"
        }
        return directory
    }

    /// The last good configuration in `stateDirectory`, if there is one that still loads.
    public static func load(stateDirectory: String) -> LampdConfiguration? {
        let path = FilePaths.join(stateDirectory, fileName)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try? LampdConfiguration.load(path: path)
    }
}
