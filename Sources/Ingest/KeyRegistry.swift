import Foundation
import Logging
import Synchronization

/// The enrolled keys of a running receiver, re-read when the enrolled-keys file changes, so
/// `lamp-ingest enroll` takes effect without a restart.
///
/// The file's modification time and size are checked at most once per `checkInterval`. A file
/// that became invalid (a typo while editing) is reported in the log and the last good keys stay
/// in use.
public final class KeyRegistry: Sendable {
    /// The enrolled-keys file.
    public let path: String
    private let checkInterval: Duration
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var keys: EnrolledKeys
        var fileStamp: FileStamp?
        var lastCheck: ContinuousClock.Instant
    }

    private struct FileStamp: Equatable {
        var modified: Date?
        var size: Int?
    }

    /// Loads `path`; throws `invalidEnrollment` if it is missing or invalid.
    public init(path: String, checkInterval: Duration = .seconds(1), logger: Logger) throws(IngestError) {
        self.path = path
        self.checkInterval = checkInterval
        self.logger = logger
        let stamp = Self.stamp(path)
        let keys = try EnrolledKeys.load(path: path)
        state = Mutex(State(keys: keys, fileStamp: stamp, lastCheck: .now))
    }

    /// The current keys (re-read first if the file changed).
    public var keys: EnrolledKeys {
        let now = ContinuousClock.now
        let (keys, needsCheck) = state.withLock { state in
            let due = now - state.lastCheck >= checkInterval
            if due { state.lastCheck = now }
            return (state.keys, due)
        }
        guard needsCheck else { return keys }
        let stamp = Self.stamp(path)
        guard stamp != state.withLock({ $0.fileStamp }) else { return keys }
        do {
            let reloaded = try EnrolledKeys.load(path: path)
            state.withLock {
                $0.keys = reloaded
                $0.fileStamp = stamp
            }
            logger.info("enrolled keys reloaded", metadata: ["path": "\(path)", "keys": "\(reloaded.count)"])
            return reloaded
        } catch {
            state.withLock { $0.fileStamp = stamp }
            logger.error("enrolled-keys file not reloaded, keeping the previous keys: \(error.message)")
            return keys
        }
    }

    private static func stamp(_ path: String) -> FileStamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return FileStamp(
            modified: attributes[.modificationDate] as? Date, size: (attributes[.size] as? NSNumber)?.intValue)
    }
}
