import Foundation

/// The live view's audit log (docs/live-view.md "Audit"): one JSON line per change made through
/// the page (who, when, what), appended, never rewritten; the pole page shows a pole's lines.
public actor AuditLog {
    public let path: String

    /// One change.
    public struct Entry: Sendable, Codable, Equatable {
        public var at: Date
        public var user: String
        public var action: String
        public var device: String
        public var alarm: String
        public var note: String
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
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let line = try encoder.encode(entry) + Data("\n".utf8)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw LiveViewError("cannot append to the audit log \(path): \(error)")
        }
    }

    /// The entries about `device`, newest first.
    public func entries(device: String) -> [Entry] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return text.split(separator: "\n").compactMap { try? decoder.decode(Entry.self, from: Data($0.utf8)) }
            .filter { $0.device == device }.reversed()
    }
}
