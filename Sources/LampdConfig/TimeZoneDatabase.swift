import FoundationEssentials
import Glibc
import Lighting
import Telemetry
import CivilTime
import SystemSupport

/// The IANA time zones of this system: the compiled zone files of the `tzdata` package under
/// `/usr/share/zoneinfo` (or `$TZDIR`), read with ``Lighting/ZoneInfo``.
///
/// lampd links only `FoundationEssentials`, whose `TimeZone` knows no named zones (those come
/// from ICU), so the pole's `[site] timezone` is read here. A tzdata upgrade (new DST rules)
/// takes effect at lampd's next start.
public enum TimeZoneDatabase {
    /// Where Debian's tzdata installs the zone files.
    public static let defaultDirectory = "/usr/share/zoneinfo"

    /// The zone directory: `$TZDIR` when set (as for the C library), else ``defaultDirectory``.
    public static var directory: String {
        if let custom = ProcessInfo.processInfo.environment["TZDIR"], !custom.isEmpty { return custom }
        return defaultDirectory
    }

    /// The zone called `identifier` ("Europe/Berlin"). "UTC", "Etc/UTC", "GMT" and "Etc/GMT" need
    /// no file.
    ///
    /// - Throws: `AgentError` naming the zone and what to do: not a zone name, not installed
    ///   (tzdata missing or a typo), or a damaged file.
    public static func zone(named identifier: String) throws(AgentError) -> ZoneInfo {
        if ["UTC", "Etc/UTC", "GMT", "Etc/GMT"].contains(identifier) { return .utc }
        guard isZoneName(identifier) else {
            throw AgentError("\"\(identifier)\" is not an IANA time zone name; write e.g. \"Europe/Berlin\"")
        }
        let path = FilePaths.join(directory, identifier)
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw AgentError("time zone \"\(identifier)\" is not installed (\(SystemErrorText.describe(error))): "
                + "check the spelling (e.g. \"Europe/Berlin\") and that the tzdata package is installed")
        }
        do {
            return try ZoneInfo(identifier: identifier, tzif: bytes)
        } catch {
            throw AgentError("time zone \"\(identifier)\": \(error.description)")
        }
    }

    /// The zone this system's clock shows: `$TZ` (a name, a file, or a POSIX rule), else
    /// `/etc/localtime`, else UTC. For `lampctl astro` without `--tz`.
    public static func systemZone() -> ZoneInfo {
        if var tz = ProcessInfo.processInfo.environment["TZ"], !tz.isEmpty {
            if tz.hasPrefix(":") { tz.removeFirst() }
            if tz.hasPrefix("/") { return (try? zone(file: tz, identifier: name(inZoneFilePath: tz) ?? tz)) ?? .utc }
            if let named = try? zone(named: tz) { return named }
            return (try? ZoneInfo(identifier: tz, posixTZ: tz)) ?? .utc
        }
        let link = readLink("/etc/localtime")
        return (try? zone(file: "/etc/localtime", identifier: link.flatMap(name(inZoneFilePath:)) ?? "localtime")) ?? .utc
    }

    /// Letters, digits, '_', '-', '+' in '/'-separated parts, like every tzdata name: no "..",
    /// no absolute path, so a configuration cannot make lampd read another file.
    static func isZoneName(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return !text.isEmpty && text.count <= 128 && parts.allSatisfy { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy { s in
                ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || "_-+".unicodeScalars.contains(s)
            }
        }
    }

    private static func zone(file path: String, identifier: String) throws -> ZoneInfo {
        try ZoneInfo(identifier: identifier, tzif: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// "Europe/Berlin" from "/usr/share/zoneinfo/Europe/Berlin" (or "../usr/share/zoneinfo/…").
    private static func name(inZoneFilePath path: String) -> String? {
        guard let range = path.firstRange(of: "zoneinfo/") else { return nil }
        let name = String(path[range.upperBound...])
        return isZoneName(name) ? name : nil
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
