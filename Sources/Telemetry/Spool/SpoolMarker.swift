import FoundationEssentials
import Glibc
import SystemSupport

/// What the spool held, remembered outside the spool file (`<spool>.marker`, e.g.
/// `spool.sqlite.marker`), so that a spool that vanished, was truncated, or lost the end of its
/// WAL is noticed when lampd opens it again instead of silently starting from nothing
/// (DESIGN.md principle 2: every loss is reported).
///
/// Written with `DurableFile` when the spool opens, at most every `SpoolConfiguration.markerInterval`
/// after a group commit, and when it closes cleanly (`cleanShutdown` true). Its content is not
/// trusted: a marker that cannot be read is reported and replaced, never a reason not to start.
public struct SpoolMarker: Codable, Sendable, Equatable {
    /// `Spool.spoolID` of the file the marker describes.
    public var spoolID: String
    /// The highest sequence number that was durable in that file when the marker was written.
    public var highestSequence: Int64
    /// True when written by a clean close: `highestSequence` is then exactly the file's last one.
    public var cleanShutdown: Bool

    public init(spoolID: String, highestSequence: Int64, cleanShutdown: Bool) {
        self.spoolID = spoolID
        self.highestSequence = highestSequence
        self.cleanShutdown = cleanShutdown
    }

    /// The marker's path for the spool at `spoolPath`.
    public static func path(forSpoolAt spoolPath: String) -> String { spoolPath + ".marker" }

    /// Longest marker file read; anything longer is not a marker.
    static let maximumBytes = 4096

    /// The outcome of reading the marker.
    enum Loaded: Equatable {
        case none
        case marker(SpoolMarker)
        /// The file exists but is not a marker (why, in words).
        case unreadable(String)
    }

    /// Reads the marker beside `spoolPath`; never throws: a broken marker is `.unreadable`.
    static func load(spoolPath: String) -> Loaded {
        let path = path(forSpoolAt: spoolPath)
        var status = stat()
        guard lstat(path, &status) == 0 else { return errno == ENOENT ? .none : .unreadable(String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { return .unreadable("not a regular file") }
        guard status.st_size <= maximumBytes else { return .unreadable("\(status.st_size) bytes, too long for a marker") }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: maximumBytes + 1)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { return .unreadable(String(cString: strerror(errno))) }
        guard let marker = try? JSONDecoder().decode(SpoolMarker.self, from: Data(bytes[0..<count])),
              marker.highestSequence >= 0, !marker.spoolID.isEmpty, marker.spoolID.utf8.count <= 128
        else { return .unreadable("not a spool marker") }
        return .marker(marker)
    }

    /// Replaces the marker beside `spoolPath` durably.
    func save(spoolPath: String) throws(DurableFile.Failure) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        try DurableFile.replace(path: Self.path(forSpoolAt: spoolPath), with: data, mode: 0o640)
    }

    /// What opening a spool found, compared with the marker left by the previous run: the alarm to
    /// raise if records were lost, and the lowest next sequence number that cannot collide with
    /// records upstream may already have (sequences of a spool are never reused).
    struct Comparison: Equatable {
        var lossMessage: String?
        var minimumNextSequence: Int64
    }

    /// Compares `loaded` with the spool that was opened (`spoolID`, `highestSequence`).
    /// - Parameter movedAside: the previous file was corrupt and renamed (already its own alarm).
    static func compare(_ loaded: Loaded, spoolID: String, highestSequence: Int64, movedAside: Bool) -> Comparison {
        guard case .marker(let marker) = loaded else { return Comparison(lossMessage: nil, minimumNextSequence: 0) }
        if marker.spoolID != spoolID {
            guard !movedAside else { return Comparison(lossMessage: nil, minimumNextSequence: 0) }
            return Comparison(
                lossMessage: "the spool file is gone or was replaced: spool \(marker.spoolID) held records up to sequence "
                    + "\(marker.highestSequence), now spool \(spoolID) starts empty (the file was deleted, truncated or "
                    + "restored from elsewhere); records not yet acknowledged upstream are lost",
                minimumNextSequence: 0)
        }
        guard highestSequence < marker.highestSequence else { return Comparison(lossMessage: nil, minimumNextSequence: 0) }
        let first = highestSequence + 1
        return Comparison(
            lossMessage: "the spool lost records \(first) to \(marker.highestSequence): it now ends at sequence "
                + "\(highestSequence) (a damaged write-ahead log or a restored copy); numbering goes on after "
                + "\(marker.highestSequence) so upstream sees the gap",
            minimumNextSequence: marker.highestSequence + 1)
    }
}
