import LampdConfig
import FoundationEssentials
import Logging
import Telemetry
import Clocks
import SystemSupport

/// Opens the spool for lampd, and when the configured storage cannot hold it (a full or read-only
/// disk, `[storage] directory` not a folder, something that is not a spool file in its place), an
/// emergency spool in memory-backed storage instead, so that lampd keeps running, keeps what it
/// records and says what happened (DESIGN.md principles 1 and 2: storage failing is an alarm; the
/// lamp keeps its schedule).
///
/// The emergency spool lives in the first of lampd's runtime directory (`$RUNTIME_DIRECTORY`,
/// `/run/lampd`), `/dev/shm` and `/tmp` where it can be created: a tmpfs on a board, so it survives
/// a restart of lampd but not a power cut or a reboot, and it is bounded to
/// `emergencyMaximumMegabytes`. The `spool.unavailable` alarm says so, and is stored in the
/// emergency spool so it goes upstream.
public enum SpoolOpening {
    /// Bound of the emergency spool, in MiB (it takes RAM on a tmpfs).
    public static let emergencyMaximumMegabytes: Int64 = 8
    /// The emergency spool's file name for the spool at `path`: one per configured spool (FNV-1a of
    /// its path), so two lampd on one machine (tests, a bench) never share one, and a restarted lampd
    /// finds its own again.
    public static func emergencyFileName(for path: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "lampd-emergency-spool-\(String(hash, radix: 16)).sqlite"
    }

    /// The spool that was opened, and the event to record about how (nil for the configured spool).
    public struct Opened: Sendable {
        public var spool: Spool
        public var problem: Event?
    }

    /// Opens `configuration`; if that fails, an emergency spool in one of `emergencyDirectories`.
    /// Throws only when no spool at all can be opened.
    public static func open(
        _ configuration: SpoolConfiguration,
        emergencyDirectories: [String] = defaultEmergencyDirectories(),
        timeSource: any TimeSource,
        logger: Logger
    ) async throws -> Opened {
        let failure: TelemetryError
        do {
            return Opened(spool: try await Spool.open(configuration, timeSource: timeSource), problem: nil)
        } catch {
            failure = error
        }
        logger.critical("spool unavailable", metadata: ["path": "\(configuration.path)", "error": "\(failure.description)"])
        var tried: [String] = []
        for directory in emergencyDirectories {
            var emergency = configuration
            emergency.path = FilePaths.join(directory, emergencyFileName(for: configuration.path))
            emergency.maxSizeBytes = min(configuration.maxSizeBytes, emergencyMaximumMegabytes * 1_048_576)
            do {
                let spool = try await Spool.open(emergency, timeSource: timeSource)
                let event = Event(
                    kind: "spool.unavailable", severity: .alarm, time: timeSource.now(),
                    message: "the spool cannot be used: \(failure.message); records are kept in the emergency spool "
                        + "\(emergency.path) (memory, up to \(emergencyMaximumMegabytes) MB: lost at a power cut or "
                        + "reboot) — fix the storage and restart lampd")
                logger.critical("running on the emergency spool", metadata: ["path": "\(emergency.path)"])
                return Opened(spool: spool, problem: event)
            } catch {
                tried.append("\(directory): \(error.message)")
            }
        }
        throw AgentError("cannot open the spool (\(failure.description)) nor an emergency spool (\(tried.joined(separator: "; ")))")
    }

    /// lampd's runtime directory from systemd (`RUNTIME_DIRECTORY`), `/run/lampd`, `/dev/shm`, `/tmp`.
    public static func defaultEmergencyDirectories() -> [String] {
        var directories: [String] = []
        if let runtime = ProcessInfo.processInfo.environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first {
            directories.append(String(runtime))
        }
        for directory in ["/run/lampd", "/dev/shm", "/tmp"] where !directories.contains(directory) {
            directories.append(directory)
        }
        return directories
    }
}
