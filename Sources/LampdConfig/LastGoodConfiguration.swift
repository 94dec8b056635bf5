import FoundationEssentials
import Telemetry
import TOML
import SystemSupport

/// The last configuration lampd started with successfully, kept in the
/// state directory, so that a broken edit of `/etc/lampd/lampd.toml` (or of
/// the schedule file it names) does not leave a street dark: lampd then runs
/// on the last good one, raises a `config.invalid` alarm and logs every
/// problem (DESIGN.md principle 1).
///
/// The copy holds everything the configuration pulls in: the schedule file
/// lampd read and checked is kept beside it (`last-good.include.…`), and the
/// paths of files read later (certificates, TLS key) are made absolute, so the
/// copy means the same from the state directory as the original did from its own.
public enum LastGoodConfiguration {
    /// File name in the state directory.
    public static let fileName = "last-good.toml"
    /// Prefix of the files kept beside it.
    static let includePrefix = "last-good.include."

    /// What is written to the state directory for `configuration`.
    public struct Copy: Sendable, Equatable {
        /// The text of `last-good.toml`: the configuration's text with the paths it names replaced.
        public var text: [UInt8]
        /// Files kept beside it: name in the state directory → contents.
        public var files: [String: [UInt8]]
    }

    /// The copy of `configuration` (which must have been read from text, as `LampdConfiguration.load` does).
    public static func copy(of configuration: LampdConfiguration) -> Copy {
        var text = configuration.sourceText
        var files: [String: [UInt8]] = [:]
        // From the end of the text, so earlier ranges stay where they are.
        for file in configuration.pulledIn.sorted(by: { $0.sourceRange.lowerBound > $1.sourceRange.lowerBound }) {
            guard file.sourceRange.upperBound <= text.count else { continue }
            let path: String
            if let contents = file.contents {
                // Named by its content: a power cut between writing it and the copy leaves
                // the old copy naming its own, unchanged file.
                path = includePrefix + safeName(file.keyPath) + "." + fingerprint(contents) + fileExtension(file.resolvedPath)
                files[path] = contents
            } else {
                path = ConfigurationPath.absolute(file.resolvedPath)
            }
            text.replaceSubrange(file.sourceRange, with: basicString(path))
        }
        return Copy(text: text, files: files)
    }

    /// Keeps `configuration` (which just loaded) as the last good one. Replaced durably
    /// (`DurableFile`): a power cut leaves either the old or the new copy, never half of one,
    /// and the files a copy names are written before it.
    public static func save(_ configuration: LampdConfiguration, stateDirectory: String) throws {
        let copy = copy(of: configuration)
        let path = FilePaths.join(stateDirectory, fileName)
        if isCurrent(copy, stateDirectory: stateDirectory) { return }
        var isDirectory = false
        if FileManager.default.fileExists(atPath: stateDirectory, isDirectory: &isDirectory) {
            guard isDirectory else { throw AgentError("the state directory \(stateDirectory) exists and is not a directory") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            } catch {
                throw AgentError("cannot create the state directory \(stateDirectory) (check that its parent exists and lampd may write there)")
            }
        }
        for (name, contents) in copy.files.sorted(by: { $0.key < $1.key }) {
            try DurableFile.replace(path: FilePaths.join(stateDirectory, name), with: contents)
        }
        try DurableFile.replace(path: path, with: copy.text)
        // Files older copies named.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory)) ?? []
        for name in names where name.hasPrefix(includePrefix) && copy.files[name] == nil {
            try? FileManager.default.removeItem(atPath: FilePaths.join(stateDirectory, name))
        }
    }

    /// Whether the state directory already holds `copy` (then `lampctl selftest` says the
    /// configuration is the one lampd started with).
    public static func isCurrent(_ copy: Copy, stateDirectory: String) -> Bool {
        func bytes(_ name: String) -> [UInt8]? {
            FileManager.default.contents(atPath: FilePaths.join(stateDirectory, name)).map { [UInt8]($0) }
        }
        return bytes(fileName) == copy.text && copy.files.allSatisfy { bytes($0.key) == $0.value }
    }

    /// The state directory a broken file names, as far as it can be read
    /// (`[storage] directory`), otherwise the default `/var/lib/lampd`. A file that is not
    /// TOML is read without the lines its syntax errors are on (up to 32 of them), so a typo
    /// in a header does not hide where the last good copy is.
    public static func stateDirectory(fromBroken bytes: [UInt8]?) -> String {
        var lines = (bytes ?? []).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for _ in 0...32 {
            do {
                let table = try TOML.parse(Array(lines.joined(separator: [UInt8(ascii: "\n")])))
                return table["storage"]?.value.table?["directory"]?.value.string ?? "/var/lib/lampd"
            } catch {
                let index = error.position.line - 1
                guard lines.indices.contains(index) else { break }
                lines.remove(at: index)
            }
        }
        return "/var/lib/lampd"
    }

    /// The state directory a broken file names (text form of `stateDirectory(fromBroken:)`).
    public static func stateDirectory(fromBroken text: String?) -> String {
        stateDirectory(fromBroken: text.map { Array($0.utf8) })
    }

    /// The last good configuration in `stateDirectory`.
    ///
    /// - Throws: why there is none to run on: it does not exist, or its problems.
    public static func fallback(stateDirectory: String) throws(ConfigurationErrors) -> LampdConfiguration {
        try LampdConfiguration.load(path: FilePaths.join(stateDirectory, fileName))
    }

    /// The last good configuration in `stateDirectory`, if there is one that still loads.
    public static func load(stateDirectory: String) -> LampdConfiguration? {
        try? fallback(stateDirectory: stateDirectory)
    }

    /// A TOML basic string of `text`.
    static func basicString(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "\"")]
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes += [UInt8(ascii: "\\"), byte]
            case 0x00..<0x20, 0x7F:
                let hex = Array(String(byte, radix: 16, uppercase: true).utf8)
                bytes += Array("\\u00".utf8) + (hex.count < 2 ? [UInt8(ascii: "0")] : []) + hex
            default:
                bytes.append(byte)
            }
        }
        return bytes + [UInt8(ascii: "\"")]
    }

    /// 16 hexadecimal digits of FNV-1a (64 bits): tells copies of different contents apart.
    static func fingerprint(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// `lighting.schedule_file` stays as it is; anything but letters, digits, `.`, `_` and `-` becomes `_`.
    private static func safeName(_ keyPath: String) -> String {
        String(keyPath.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
                ? Character(scalar) : "_"
        })
    }

    /// `.json` of `/etc/lampd/schedule.json`; empty when there is none.
    private static func fileExtension(_ path: String) -> String {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        let suffix = name[dot...]
        return suffix.count <= 10 && suffix.dropFirst().allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) ? String(suffix) : ""
    }
}
