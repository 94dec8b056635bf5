import SystemSupport
import FoundationEssentials
import Lighting
#if canImport(Glibc)
import Glibc
import Telemetry
#endif

/// What `lamp-state.json` in the state directory holds: the level lampd last commanded and
/// the override in force, so a restart puts the lamp back where it was before anything else.
///
/// Written only when the commanded target level or the override changes (not at every ramp
/// step), atomically: temporary file, fsync, rename, fsync of the directory.
public struct LampState: Codable, Sendable, Hashable {
    /// File format version.
    public var version = 1
    /// The target level last commanded, percent 0–100, and when (wall clock, may be unsynchronised).
    public var lastCommanded: LastCommandedState
    /// Which rule decided it, and why (for the first `lampctl lamp explain` after a restart).
    public var source: DecisionSource
    public var reason: String
    public var overrides: OverrideState

    public init(lastCommanded: LastCommandedState, source: DecisionSource, reason: String, overrides: OverrideState) {
        self.lastCommanded = lastCommanded
        self.source = source
        self.reason = reason
        self.overrides = overrides
    }

    public static let fileName = "lamp-state.json"
}

/// What `lamp-counters.json` holds: maintenance counters and the faults currently raised.
///
/// Written at most every `counters_save` (default 10 min), when a fault is raised or cleared,
/// and at shutdown: flash on a pole board wears out. A power cut loses at most that long.
public struct LampCounters: Codable, Sendable, Hashable {
    public var version = 1
    /// Hours the lamp was commanded on (level above 0 %).
    public var burnHours = BurnHourCounter()
    /// How often the lamp was switched from off to on.
    public var switchOnCount = 0
    /// Energy from the meter's cumulative register, surviving wrap-around and meter resets.
    public var energy = EnergyCounter()
    /// The fault detector's state (which faults are raised), so a restart does not raise them again.
    public var faults: FaultDetector?

    public init() {}

    public static let fileName = "lamp-counters.json"
}

/// Reads and writes the small JSON state files of the lighting service.
public enum LampStateStore {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    /// Reads `name` in `directory`; nil when absent. Throws when present but unreadable or corrupt.
    public static func load<T: Decodable>(_ type: T.Type, directory: String, name: String) throws -> T? {
        let path = FilePaths.join(directory, name)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try decoder().decode(T.self, from: data)
    }

    /// Writes `value` to `name` in `directory` atomically and durably. The fsyncs run on
    /// `DurableFile`'s queue, not on the caller's (the lighting actor's) thread; saves land in the
    /// order they were asked for.
    public static func save<T: Encodable>(_ value: T, directory: String, name: String) async throws {
        let data = try encoder().encode(value)
        try await DurableFile.replaceOffPool(path: FilePaths.join(directory, name), with: data)
    }
}
