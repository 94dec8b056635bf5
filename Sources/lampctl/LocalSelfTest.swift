import LampdConfig
import ControlProtocol
import FoundationEssentials
import Glibc
import Lighting
import Telemetry
import Uplink
import SystemSupport
import TextFormatting

#if canImport(Glibc)
    import Glibc
#endif

/// The self-test's checks lampctl makes itself, on the files and the disk: they work
/// whether lampd runs or not. A check that needs more rights than the caller has is
/// skipped with "run with sudo", never failed.
struct LocalSelfTest {
    /// Where a board's lampd reads its configuration.
    static let boardConfigurationFile = "/etc/lampd/lampd.toml"

    /// The configuration file lampd reads; nil when it runs on its built-in simulated one.
    var configurationFile: String?
    /// The state directory lampd says it runs with; nil = the one the configuration names.
    var stateDirectory: String? = nil

    /// `config`, then `device-key`, `state-dir` and `disk` in the state directory;
    /// also the configuration, when valid, for the direct hardware probes.
    func run() -> (checks: [SelfTestCheck], configuration: LampdConfiguration?) {
        let (configCheck, configuration, named) = config()
        let stateDirectory = self.stateDirectory ?? named
        return ([configCheck, deviceKey(stateDirectory), stateDirectoryWritable(stateDirectory),
                 disk(stateDirectory, spoolMaxMegabytes: configuration?.storage.spoolMaxMegabytes)], configuration)
    }

    /// The file is valid, and is the one lampd last started with (`last-good.toml`).
    func config() -> (SelfTestCheck, LampdConfiguration?, String) {
        guard let configurationFile else {
            let builtIn = try? LampdConfiguration.parse(LampdConfiguration.builtInSimulated, file: "(built-in simulated configuration)")
            return (.pass("config", "lampd runs on its built-in simulated configuration (--simulate)"),
                    builtIn, builtIn?.storage.directory ?? stateDirectory ?? "")
        }
        let text = FileManager.default.contents(atPath: configurationFile).map { [UInt8]($0) }
        let configuration: LampdConfiguration
        do {
            configuration = try LampdConfiguration.load(path: configurationFile)
        } catch {
            let directory = LastGoodConfiguration.stateDirectory(fromBroken: text)
            let fallback = LastGoodConfiguration.load(stateDirectory: directory) != nil
                ? "lampd runs on the last good copy" : "lampd cannot start with it"
            let first = error.errors.first?.description ?? "unreadable"
            return (.fail("config", "\(error.errors.count) problem(s), \(fallback); first: \(first)"), nil, directory)
        }
        let directory = configuration.storage.directory
        let lastGoodPath = FilePaths.join(directory, LastGoodConfiguration.fileName)
        var info = stat()
        if stat(lastGoodPath, &info) == 0 ? access(lastGoodPath, R_OK) != 0 : errno == EACCES {
            return (.pass("config", "valid (run with sudo to compare it with lampd's copy)"), configuration, directory)
        }
        let check: SelfTestCheck = if !FileManager.default.fileExists(atPath: lastGoodPath) {
            .pass("config", "valid (lampd has not started with it yet)")
        } else if LastGoodConfiguration.isCurrent(LastGoodConfiguration.copy(of: configuration), stateDirectory: directory) {
            .pass("config", "valid, the file lampd started with")
        } else {
            .fail("config", "valid but edited since lampd started: `systemctl restart lampd` applies it")
        }
        return (check, configuration, directory)
    }

    /// The device key exists, is readable only by its owner, and holds an Ed25519 key.
    func deviceKey(_ directory: String) -> SelfTestCheck {
        let store = DeviceKeyStore(stateDirectory: URL(fileURLWithPath: directory))
        var info = stat()
        if stat(store.keyFile.path, &info) != 0, errno == EACCES {
            return .skip("device-key", "cannot look into \(directory) as uid \(getuid()): run with sudo")
        }
        if info.st_mode & 0o077 == 0, access(store.keyFile.path, R_OK) != 0, errno == EACCES {
            return .skip("device-key", "present, mode \(String(info.st_mode & 0o777, radix: 8)); cannot read it as uid \(getuid()): run with sudo")
        }
        do {
            let key = try store.load()
            return .pass("device-key", "present, mode \(String(info.st_mode & 0o777, radix: 8)), key id \(key.publicKey.kidHex)")
        } catch {
            return .fail("device-key", error.message)
        }
    }

    /// lampd can create, write and remove a file in its state directory.
    func stateDirectoryWritable(_ directory: String) -> SelfTestCheck {
        let probe = FilePaths.join(directory, ".selftest-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            switch errno {
            case EACCES, EPERM: return .skip("state-dir", "\(directory) not writable by uid \(getuid()) (lampd's user writes it): run with sudo")
            case ENOENT: return .fail("state-dir", "\(directory) does not exist: check [storage] directory (lampd creates it at start)")
            default: return .fail("state-dir", "cannot write in \(directory): \(reason) — check the card (read-only after errors?)")
            }
        }
        defer { unlink(probe) }
        let written = write(fd, "x", 1)
        let synced = fsync(fd)
        close(fd)
        guard written == 1, synced == 0 else {
            return .fail("state-dir", "writing in \(directory) failed: \(String(cString: strerror(errno))) — check the card")
        }
        return .pass("state-dir", "\(directory) writable")
    }

    /// Free space left for the spool to grow to its configured maximum.
    func disk(_ directory: String, spoolMaxMegabytes: Int?) -> SelfTestCheck {
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else {
            return .fail("disk", "cannot read the free space of \(directory): \(String(cString: strerror(errno)))")
        }
        let freeMegabytes = Double(info.f_bavail) * Double(info.f_frsize) / 1_048_576
        guard let spoolMaxMegabytes else { return .skip("disk", String(printf: "%.0f MB free; spool maximum unknown (configuration invalid)", freeMegabytes)) }
        let spool = FilePaths.join(directory, "spool.sqlite")
        let usedMegabytes = ["", "-wal"].reduce(0.0) { sum, suffix in
            var status = stat()
            let size = stat(spool + suffix, &status) == 0 ? Double(status.st_size) : 0
            return sum + size / 1_048_576
        }
        let needed = max(0, Double(spoolMaxMegabytes) - usedMegabytes)
        let text = String(printf: "%.0f MB free; spool %.1f of at most %d MB", freeMegabytes, usedMegabytes, spoolMaxMegabytes)
        guard freeMegabytes >= needed else {
            return .fail("disk", text + ": free space or lower [storage] spool_max_mb")
        }
        return .pass("disk", text)
    }
}
