import Foundation

/// The live view's audit log (docs/live-view.md "Audit"): one JSON line per change made through
/// the page (who, when, what), appended, never rewritten; the pole page shows a pole's lines, and
/// a starting live view takes the alarm acknowledgements back from it.
public actor AuditLog {
    public let path: String

    /// One change.
    public struct Entry: Sendable, Codable, Equatable {
        public var at: Date
        public var user: String
        /// `acknowledge` or `publish`.
        public var action: String
        public var device: String
        /// The acknowledged alarm (empty for a publish).
        public var alarm: String
        public var note: String
        /// The account's role when it made the change (absent in lines written before roles were logged).
        public var role: String?
        /// A publish: the document's role (`operator`, `scheduler`) and version.
        public var documentRole: String?
        public var version: UInt64?
    }

    /// What `read()` found: the entries, in file order, and the lines that were not one.
    public struct Contents: Sendable {
        public var entries: [Entry]
        /// 1-based numbers of the malformed (or truncated) lines, skipped.
        public var malformedLines: [Int]
    }

    public init(path: String) throws(LiveViewError) {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw LiveViewError("cannot create the audit log \(path): check the directory exists and is writable")
            }
        }
    }

    /// Appends `entry` and syncs it to disk before returning.
    public func append(_ entry: Entry) throws(LiveViewError) {
        try append(contentsOf: [entry])
    }

    /// Appends `entries` (one line each) and syncs them to disk once before returning. The file is
    /// opened `O_APPEND`, and each call's lines go in one `write`: replicas on one host sharing the
    /// file do not overwrite each other's lines.
    public func append(contentsOf entries: [Entry]) throws(LiveViewError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines: [UInt8] = []
        do {
            for entry in entries { lines += try encoder.encode(entry) + Data("\n".utf8) }
        } catch {
            throw LiveViewError("cannot encode an audit entry: \(error)")
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw LiveViewError("cannot open the audit log \(path): errno \(errno): check it exists and is writable") }
        defer { close(fd) }
        var written = 0
        var failed: Int32 = 0
        lines.withUnsafeBytes { buffer in
            while written < buffer.count, let base = buffer.baseAddress {
                let count = write(fd, base + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    failed = errno
                    return
                }
                written += count
            }
        }
        guard failed == 0, fsync(fd) == 0 else {
            throw LiveViewError("cannot append to the audit log \(path): errno \(failed == 0 ? errno : failed) (disk full?)")
        }
    }

    /// Every entry; a line that is not one (a torn last line after a crash, a hand edit) is skipped
    /// and its number reported, never a failure.
    public func read() -> Contents {
        guard let data = FileManager.default.contents(atPath: path) else { return Contents(entries: [], malformedLines: []) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var contents = Contents(entries: [], malformedLines: [])
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            if let entry = try? decoder.decode(Entry.self, from: Data(line)) {
                contents.entries.append(entry)
            } else {
                contents.malformedLines.append(index + 1)
            }
        }
        return contents
    }

    /// The entries about `device`, newest first.
    public func entries(device: String) -> [Entry] {
        read().entries.filter { $0.device == device }.reversed()
    }
}
