import Foundation
import TOML
import Testing
import TestSupport

/// Python 3.11's `tomllib` (Tests/Peers/toml_peer.py) as the reference for the TOML parser:
/// many documents in one `python3` run, one answer per document.
enum TOMLPeer {
    enum Answer: Equatable {
        /// Accepted, with the document's canonical form.
        case accepted(String)
        /// Accepted, but an integer does not fit 64 bits (ours refuses those: a legitimate difference).
        case acceptedBigInteger
        case refused(String)
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// tomllib's answers for `documents`, in order (one `python3` run, through `ChildProcess`).
    static func answers(_ documents: [[UInt8]]) async throws -> [Answer] {
        let hex = documents.map { $0.map { String(format: "%02x", $0) }.joined() }.joined(separator: "\n") + "\n"
        let result = try await ChildProcess.runPython([Products.peer("toml_peer.py")], input: hex)
        try #require(result.exitCode == 0, "python3 Tests/Peers/toml_peer.py failed (python3 ≥ 3.11 with tomllib is needed): \(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(lines.count == documents.count, "the peer answered \(lines.count) of \(documents.count) documents")
        return lines.map { line in
            if line.hasPrefix("OK ") { return .accepted(String(line.dropFirst(3))) }
            if line == "BIG" { return .acceptedBigInteger }
            return .refused(String(line.dropFirst(4)))
        }
    }

    /// The same canonical form as toml_peer.py's.
    static func canonical(_ value: TOMLValue) -> String {
        func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }
        switch value {
        case .table(let table):
            let items = table.keys.compactMap { key in table[key].map { (hex(key), canonical($0.value)) } }.sorted { $0.0 < $1.0 }
            return "{" + items.map { "\($0.0):\($0.1)" }.joined(separator: ",") + "}"
        case .array(let elements):
            return "[" + elements.map { canonical($0.value) }.joined(separator: ",") + "]"
        case .string(let text):
            return "s" + hex(text)
        case .boolean(let flag):
            return flag ? "b1" : "b0"
        case .integer(let number):
            return "i\(number)"
        case .float(let number):
            return number.isNaN ? "fnan" : "f" + String(format: "%016llx", number.bitPattern)
        case .dateTime(let dateTime):
            let kind = switch (dateTime.date != nil, dateTime.time != nil, dateTime.offsetMinutes != nil) {
            case (true, true, true): "datetime"
            case (true, true, false): "datetime-local"
            case (true, false, _): "date-local"
            default: "time-local"
            }
            return "d\(kind):\(dateTime)"
        }
    }
}
